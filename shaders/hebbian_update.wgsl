// Fused Hebbian update of a shared lateral matrix (the seed's rule), one pass:
//   W_out[i, j] = W[i, j] + clamp(scale * sum_r A[r, i] * A[r, j], -1, 1)
//   partial[2 * workgroup]     = sum over the workgroup's tile of |clamped delta|
//   partial[2 * workgroup + 1] = sum over the workgroup's tile of W_out² (the logged norm, squared)
// A is the (rows x n) activation matrix (rows = batch * channels), W and W_out are n x n, all
// row-major and contiguous. The outer-product sum is a tiled AᵀA in workgroup memory; the
// clamp, the accumulation into W and both reductions happen before anything is written, so
// ΔW never exists in device memory. Its CPU twins are `encoder::fused::symmetric_update` and
// the plain tensor ops `lateral::update_weights_unfused`.
//
// info: [rows, n, bitcast<u32>(scale)]

@group(0) @binding(0) var<storage, read_write> activations: array<f32>;
@group(0) @binding(1) var<storage, read_write> weights: array<f32>;
@group(0) @binding(2) var<storage, read_write> weights_out: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;
@group(0) @binding(4) var<storage, read_write> info: array<u32>;

const TILE: u32 = 16u;

var<workgroup> tile_i: array<array<f32, 16>, 16>;
var<workgroup> tile_j: array<array<f32, 16>, 16>;
var<workgroup> sums: array<vec2<f32>, 256>;

@compute @workgroup_size(16, 16, 1)
fn main(
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let rows = info[0];
    let n = info[1];
    let scale = bitcast<f32>(info[2]);
    let i0 = group.y * TILE;
    let j0 = group.x * TILE;
    let i = i0 + local.y;
    let j = j0 + local.x;

    var acc = 0.0;
    for (var r0 = 0u; r0 < rows; r0 += TILE) {
        let r = r0 + local.y;
        // Thread (x, y) loads row r0 + y of the i-tile's and the j-tile's columns.
        var a_i = 0.0;
        var a_j = 0.0;
        if (r < rows && i0 + local.x < n) {
            a_i = activations[r * n + i0 + local.x];
        }
        if (r < rows && j0 + local.x < n) {
            a_j = activations[r * n + j0 + local.x];
        }
        tile_i[local.y][local.x] = a_i;
        tile_j[local.y][local.x] = a_j;
        workgroupBarrier();
        for (var k = 0u; k < TILE; k++) {
            acc += tile_i[k][local.y] * tile_j[k][local.x];
        }
        workgroupBarrier();
    }

    var magnitude = vec2<f32>(0.0, 0.0);
    if (i < n && j < n) {
        let delta = clamp(scale * acc, -1.0, 1.0);
        let updated = weights[i * n + j] + delta;
        weights_out[i * n + j] = updated;
        magnitude = vec2<f32>(abs(delta), updated * updated);
    }

    let slot = local.y * TILE + local.x;
    sums[slot] = magnitude;
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride >>= 1u) {
        if (slot < stride) {
            sums[slot] += sums[slot + stride];
        }
        workgroupBarrier();
    }
    if (slot == 0u) {
        let tile = group.y * groups.x + group.x;
        partial[2u * tile] = sums[0].x;
        partial[2u * tile + 1u] = sums[0].y;
    }
}
