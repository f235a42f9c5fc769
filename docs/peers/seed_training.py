# The seed project's Hebbian training step in PyTorch, timed: the peer that `hebb bench encode
# --config configs/seed-emoji.toml` is compared with in docs/benchmarks.md. Its method as its v2
# scripts describe it (96-px input, four stride-2 3x3 conv layers of 16/32/64/128 channels, ReLU,
# L2 normalisation over positions, lateral weights stored per channel and updated by the channel
# mean of the batch's outer products, clamped, then the inhibited lateral response added; batch 8,
# lr 0.001), written out again here. The images are seeded random tensors: the step does the
# same work whatever the pixels.
#
#   python3 docs/peers/seed_training.py [IMAGES=512] [IN_CHANNELS=3]
#
# Needs only `torch` (CPU). Prints images/s for two passes after one warm-up step, as hebb's bench
# times one pass after one.
import sys, time
import torch
import torch.nn.functional as F

class Layer(torch.nn.Module):
    def __init__(self, cin, cout, side):
        super().__init__()
        self.encode = torch.nn.Conv2d(cin, cout, kernel_size=3, stride=2, padding=1)
        n = side * side
        self.lateral_weights = torch.nn.Parameter(torch.zeros(cout, n, n))

    def forward(self, x):
        act = F.relu(self.encode(x))
        act = act / (act.norm(dim=(2, 3), keepdim=True) + 1e-6)
        b, c, h, w = act.shape
        flat = act.view(b, c, -1)
        with torch.no_grad():
            hebbian = torch.einsum("bni,bnj->nij", flat, flat)
            delta = 0.001 * hebbian.mean(dim=0)
            self.lateral_weights.data += delta
            self.lateral_weights.data.clamp_(-1.0, 1.0)
        lateral = torch.einsum("bci,cij->bcj", flat, self.lateral_weights).view(b, c, h, w)
        lateral = lateral - lateral.mean(dim=(2, 3), keepdim=True)
        act += lateral
        return act

def main():
    images = int(sys.argv[1]) if len(sys.argv) > 1 else 512
    in_channels = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    torch.manual_seed(42)
    layers = torch.nn.ModuleList([Layer(in_channels, 16, 48), Layer(16, 32, 24), Layer(32, 64, 12), Layer(64, 128, 6)])
    data = torch.rand(images, in_channels, 96, 96)
    batch = 8
    def step(x):
        for layer in layers:
            x = layer(x)
        return x.view(x.size(0), -1).detach()
    step(data[:batch])  # warm-up, as hebb's bench does
    for repeat in range(2):
        started = time.perf_counter()
        for i in range(0, images, batch):
            step(data[i:i + batch])
        seconds = time.perf_counter() - started
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads: {images} images, pass {repeat + 1}: {images / seconds:.2f} images/s")

if __name__ == "__main__":
    main()
