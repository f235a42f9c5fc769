// One synchronous Hopfield update of a few probes (at most 8) with a dense W:
// s'_i = sgn(h_i) with h_i = Σ_j W[i, j] s_j, and s'_i = s_i where h_i is exactly 0.
// One workgroup per neuron i: its 256 threads read row i of W once, in consecutive (coalesced)
// order, accumulate the field of every probe from that one read, and reduce in workgroup memory.
// W is read once per update whatever the number of probes, which is what bounds a few-probe
// update: a matrix product would be limited by the same read but spends it on one probe.
// Its CPU twin is `dynamics::sync_update` of `states · W` (W is symmetric).
//
// info: [n, probes]

@group(0) @binding(0) var<storage, read_write> weights: array<f32>;
@group(0) @binding(1) var<storage, read_write> states: array<f32>;
@group(0) @binding(2) var<storage, read_write> next: array<f32>;
@group(0) @binding(3) var<storage, read_write> info: array<u32>;

const THREADS: u32 = 256u;
const MAX_PROBES: u32 = 8u;

var<workgroup> partial: array<f32, 2048>; // MAX_PROBES x THREADS

@compute @workgroup_size(256, 1, 1)
fn main(
    @builtin(local_invocation_index) thread: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let n = info[0];
    let probes = min(info[1], MAX_PROBES);
    let i = group.y * groups.x + group.x;
    var sums = array<f32, 8>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    if (i < n) {
        let row = i * n;
        for (var j = thread; j < n; j += THREADS) {
            let w = weights[row + j];
            for (var b = 0u; b < probes; b++) {
                sums[b] += w * states[b * n + j];
            }
        }
    }
    for (var b = 0u; b < MAX_PROBES; b++) {
        partial[b * THREADS + thread] = sums[b];
    }
    workgroupBarrier();
    for (var stride = THREADS / 2u; stride > 0u; stride >>= 1u) {
        if (thread < stride) {
            for (var b = 0u; b < MAX_PROBES; b++) {
                partial[b * THREADS + thread] += partial[b * THREADS + thread + stride];
            }
        }
        workgroupBarrier();
    }
    if (i < n && thread < probes) {
        let field = partial[thread * THREADS];
        var s = states[thread * n + i];
        if (field > 0.0) {
            s = 1.0;
        } else if (field < 0.0) {
            s = -1.0;
        }
        next[thread * n + i] = s;
    }
}
