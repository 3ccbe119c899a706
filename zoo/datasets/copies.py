"""Content fingerprints of images, to find the same image again: resized, renamed, or re-split.

A fingerprint is the image in grey, resized (antialiased) to 16 x 16, centred and scaled to unit norm:
(N, 256) float32. Two images are copies when the cosine of their fingerprints is at least
``COPY_THRESHOLD``. Measured on the real files here (PneumoniaMNIST test images against themselves
resampled): bicubic to 64-224 px >= 0.9995, antialiased bilinear >= 0.9988 (1 of 624 below the
threshold), area to 128 px and up >= 0.9992; nearest-neighbour or area upsampling by a non-integer factor
(28 -> 64) leaves block edges and is not reliably found (down to 0.988). Distinct PneumoniaMNIST images
(test vs train) score at most 0.972, adjacent slices of one patient in the brain MRI set at most 0.998.
BreastMNIST's official splits share 1 identical and ~20 near-identical images (mean difference ~1 grey
level) between test and train, which score >= 0.999: copies, as they are.

Usage::

    fp = fingerprints(split.images)                       # (N, 256) float32
    hit = has_copy(fingerprints(test), fingerprints(train))   # (N_test,) bool
    groups = copy_groups(fingerprints(all_images))        # (N,) int64: one id per group of copies
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

FINGERPRINT_SIZE = 16
COPY_THRESHOLD = 0.999
CHUNK = 2048  # query rows per matrix product: bounds memory at CHUNK x N_pool floats


def fingerprints(images: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) uint8 -> (N, 256) float32 unit vectors (see the module docstring)."""
    if len(images) == 0:
        return torch.empty(0, FINGERPRINT_SIZE ** 2)
    out = []
    for start in range(0, len(images), CHUNK):
        x = images[start:start + CHUNK].float()  # (n, C, H, W)
        if x.shape[1] == 3:  # ITU-R 601 luma
            x = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
        elif x.shape[1] != 1:
            x = x.mean(1, keepdim=True)
        x = F.interpolate(x, size=(FINGERPRINT_SIZE, FINGERPRINT_SIZE), mode="bilinear", antialias=True,
                          align_corners=False).flatten(1)  # (n, 256)
        x = x - x.mean(1, keepdim=True)
        out.append(x / x.norm(dim=1, keepdim=True).clamp_min(1e-6))
    return torch.cat(out)


def has_copy(query: torch.Tensor, pool: torch.Tensor, threshold: float = COPY_THRESHOLD) -> torch.Tensor:
    """(N_query,) bool: which query fingerprints have a copy among the pool's."""
    hit = torch.zeros(len(query), dtype=torch.bool)
    if len(query) == 0 or len(pool) == 0:
        return hit
    for start in range(0, len(query), CHUNK):
        sim = query[start:start + CHUNK] @ pool.T  # (n, N_pool) cosines
        hit[start:start + CHUNK] = sim.max(dim=1).values >= threshold
    return hit


def copy_groups(fps: torch.Tensor, threshold: float = COPY_THRESHOLD) -> torch.Tensor:
    """(N,) int64 group ids: images linked by copies (transitively) share the id of the group's first image."""
    parent = list(range(len(fps)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for start in range(0, len(fps), CHUNK):
        sim = fps[start:start + CHUNK] @ fps.T  # (n, N)
        rows, cols = torch.nonzero(sim >= threshold, as_tuple=True)
        for i, j in zip((rows + start).tolist(), cols.tolist()):
            a, b = root(i), root(j)
            if a != b:
                parent[max(a, b)] = min(a, b)  # the smaller index is the root: the group's first image
    return torch.tensor([root(i) for i in range(len(fps))], dtype=torch.long)
