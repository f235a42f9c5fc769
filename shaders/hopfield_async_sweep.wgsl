// Asynchronous Hopfield recall of a batch of probes, one workgroup per probe. Neurons update one
// at a time in the order given for each sweep (the same order for every probe); the 256 threads
// of a workgroup compute each local field h_i = Σ_j W[i, j] s_j together and thread 0 updates
// s_i. At temperature 0: s_i = sgn(h_i), unchanged when h_i is 0. At T > 0 (Metropolis): flip
// when ΔE = 2 s_i h_i <= 0, else with probability exp(-ΔE / T), the uniform number coming from
// a counter-based hash of (seed, probe, sweep, step) that the CPU twin computes the same way.
// T goes linearly from t_start to t_end over the sweeps. A probe stops after a sweep that
// changes nothing, or after max_sweeps. Its CPU twin is `dynamics::recall_async_ordered`.
//
// info: [n, max_sweeps, probes, bits(t_start), bits(t_end), seed]

@group(0) @binding(0) var<storage, read_write> weights: array<f32>;
@group(0) @binding(1) var<storage, read_write> cues: array<f32>;
@group(0) @binding(2) var<storage, read_write> orders: array<u32>;
@group(0) @binding(3) var<storage, read_write> states: array<f32>;
@group(0) @binding(4) var<storage, read_write> sweeps_run: array<f32>;
@group(0) @binding(5) var<storage, read_write> info: array<u32>;

const THREADS: u32 = 256u;

var<workgroup> partial: array<f32, 256>;

fn pcg(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

fn uniform(seed: u32, probe: u32, sweep: u32, step: u32, n: u32) -> f32 {
    let x = pcg(seed ^ pcg(probe ^ pcg(sweep * n + step)));
    return f32(x >> 8u) / 16777216.0;
}
var<workgroup> changed: u32;

@compute @workgroup_size(256, 1, 1)
fn main(
    @builtin(local_invocation_index) thread: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let n = info[0];
    let max_sweeps = info[1];
    let probe = group.y * groups.x + group.x;
    let probes = info[2];
    let t_start = bitcast<f32>(info[3]);
    let t_end = bitcast<f32>(info[4]);
    let seed = info[5];
    // Every thread of a workgroup takes the same branch here, so barriers below stay uniform.
    if (probe >= probes) {
        return;
    }
    let base = probe * n;
    for (var j = thread; j < n; j += THREADS) {
        states[base + j] = cues[base + j];
    }
    storageBarrier();

    var sweeps = 0u;
    for (var sweep = 0u; sweep < max_sweeps; sweep++) {
        if (thread == 0u) {
            changed = 0u;
        }
        var temperature = t_start;
        if (max_sweeps > 1u) {
            temperature = t_start + (t_end - t_start) * f32(sweep) / f32(max_sweeps - 1u);
        }
        workgroupBarrier();
        for (var step = 0u; step < n; step++) {
            let i = orders[sweep * n + step];
            var h = 0.0;
            for (var j = thread; j < n; j += THREADS) {
                h += weights[i * n + j] * states[base + j];
            }
            partial[thread] = h;
            workgroupBarrier();
            for (var stride = 128u; stride > 0u; stride >>= 1u) {
                if (thread < stride) {
                    partial[thread] += partial[thread + stride];
                }
                workgroupBarrier();
            }
            if (thread == 0u) {
                let field = partial[0];
                let old = states[base + i];
                var next = old;
                if (temperature > 0.0) {
                    let delta = 2.0 * old * field;
                    if (delta <= 0.0 || uniform(seed, probe, sweep, step, n) < exp(-delta / temperature)) {
                        next = -old;
                    }
                } else if (field > 0.0) {
                    next = 1.0;
                } else if (field < 0.0) {
                    next = -1.0;
                }
                if (next != old) {
                    states[base + i] = next;
                    changed = 1u;
                }
            }
            storageBarrier();
            workgroupBarrier();
        }
        sweeps = sweep + 1u;
        let any_change = workgroupUniformLoad(&changed);
        if (any_change == 0u) {
            break;
        }
    }
    if (thread == 0u) {
        sweeps_run[probe] = f32(sweeps);
    }
}
