// One epoch of UMAP's layout optimisation (umap-learn's optimize_layout_euclidean), one thread
// per edge, all edges at once. Edges due this epoch pull their two ends together; each then
// pushes its head away from negative samples drawn by a counter-based hash of
// (sample, seed ^ pcg(epoch), edge), the same numbers the CPU twin draws. Like umap-learn's
// parallel mode, threads update shared coordinates without locks, so runs on a GPU are not
// bit-for-bit reproducible; the CPU twin (`map::layout::optimise`) runs the edges in order.
//
// info: [edges, vertices, epoch, bits(alpha), bits(a), bits(b), bits(gamma), seed, bits(negative rate)]

@group(0) @binding(0) var<storage, read_write> embedding: array<f32>;
@group(0) @binding(1) var<storage, read_write> head: array<u32>;
@group(0) @binding(2) var<storage, read_write> tail: array<u32>;
@group(0) @binding(3) var<storage, read_write> epochs_per_sample: array<f32>;
@group(0) @binding(4) var<storage, read_write> next_sample: array<f32>;
@group(0) @binding(5) var<storage, read_write> next_negative: array<f32>;
@group(0) @binding(6) var<storage, read_write> info: array<u32>;

const CLIP: f32 = 4.0;

fn pcg(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

fn pcg3(a: u32, b: u32, c: u32) -> u32 {
    return pcg(a ^ pcg(b ^ pcg(c)));
}

// The high 32 bits of x * n, from 16-bit halves (WGSL has no 64-bit integers): x mapped onto
// 0..n as `hash::below` does.
fn below(x: u32, n: u32) -> u32 {
    let xl = x & 0xffffu;
    let xh = x >> 16u;
    let nl = n & 0xffffu;
    let nh = n >> 16u;
    let lh = xl * nh;
    let hl = xh * nl;
    let middle = ((xl * nl) >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
    return xh * nh + (lh >> 16u) + (hl >> 16u) + (middle >> 16u);
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = id.y * groups.x * 256u + id.x;
    let edges = info[0];
    if (e >= edges) {
        return;
    }
    let vertices = info[1];
    let epoch = info[2];
    let now = f32(epoch);
    if (next_sample[e] > now) {
        return;
    }
    let alpha = bitcast<f32>(info[3]);
    let a = bitcast<f32>(info[4]);
    let b = bitcast<f32>(info[5]);
    let gamma = bitcast<f32>(info[6]);
    let seed = info[7];
    let negative_rate = bitcast<f32>(info[8]);

    let j = head[e];
    let k = tail[e];
    let cx = embedding[2u * j];
    let cy = embedding[2u * j + 1u];
    let ox = embedding[2u * k];
    let oy = embedding[2u * k + 1u];
    let d2 = (cx - ox) * (cx - ox) + (cy - oy) * (cy - oy);
    var coefficient = 0.0;
    if (d2 > 0.0) {
        let power = pow(d2, b);
        coefficient = -2.0 * a * b * (power / d2) / (a * power + 1.0);
    }
    let gx = clamp(coefficient * (cx - ox), -CLIP, CLIP) * alpha;
    let gy = clamp(coefficient * (cy - oy), -CLIP, CLIP) * alpha;
    embedding[2u * j] = cx + gx;
    embedding[2u * j + 1u] = cy + gy;
    embedding[2u * k] = ox - gx;
    embedding[2u * k + 1u] = oy - gy;
    next_sample[e] += epochs_per_sample[e];

    let per_negative = epochs_per_sample[e] / negative_rate;
    let negatives = u32(max((now - next_negative[e]) / per_negative, 0.0));
    let round = seed ^ pcg(epoch);
    for (var p = 0u; p < negatives; p++) {
        let other = below(pcg3(p, round, e), vertices);
        if (other == j) {
            continue;
        }
        let sx = embedding[2u * j];
        let sy = embedding[2u * j + 1u];
        let tx = embedding[2u * other];
        let ty = embedding[2u * other + 1u];
        let dist = (sx - tx) * (sx - tx) + (sy - ty) * (sy - ty);
        if (dist > 0.0) {
            let push = 2.0 * gamma * b / ((0.001 + dist) * (a * pow(dist, b) + 1.0));
            embedding[2u * j] = sx + clamp(push * (sx - tx), -CLIP, CLIP) * alpha;
            embedding[2u * j + 1u] = sy + clamp(push * (sy - ty), -CLIP, CLIP) * alpha;
        }
    }
    next_negative[e] += f32(negatives) * per_negative;
}
