"""The kernel helpers a virtio driver hands its buffers to, and the driver frame a fault in
them belongs to (crashes.py attribute_crashes: outside a probe only where a report faulted
counts, so a fault in a helper needs the caller that handed it the buffer).

* The DMA-mapping layer (kernel/dma/: the direct and swiotlb paths; lib/swiotlb.c before
  4.19; drivers/iommu/dma-iommu.c) maps and bounces the buffers drivers hand it: a fault
  there (KASAN's "in swiotlb_bounce") is about the caller's buffer, the virtio frame below
  it (the driver's own function first, else the core's vring_map_one_sg).
* The scatterlist helpers build the table a driver describes a request with (lib/
  scatterlist.c sg_alloc_table() and __sg_alloc_table(), lib/sg_pool.c
  sg_alloc_table_chained(), which virtio_blk's virtblk_map_data() calls, and the mm/
  mempool.c pool they allocate from): a fault there is in building that request's table,
  the driver's when every frame from the fault down to the driver's is such a helper (a
  helper reached through other code, a network stack's, is that code's).
"""

from __future__ import annotations

from collections.abc import Callable

from virtiodiag.events import Event

DMA_SOURCES = ("kernel/dma/", "lib/swiotlb.c", "drivers/iommu/dma-iommu.c")
DMA_FUNCTIONS = ("swiotlb_", "__swiotlb_", "dma_map_", "dma_unmap_", "dma_sync_",
                 "dma_direct_", "__dma_", "iommu_dma_", "__iommu_dma_", "dma_alloc_",
                 "dma_free_")
SG_SOURCES = ("lib/scatterlist.c", "lib/sg_pool.c", "mm/mempool.c")
# lib/scatterlist.c's and lib/sg_pool.c's exported functions all start with sg_ (or __sg_),
# mm/mempool.c's with mempool_ (mempool_alloc_noprof since 6.10)
SG_FUNCTIONS = ("sg_", "__sg_", "mempool_")

DriverOf = Callable[[Event], tuple[bool, str | None]]


def _in(frame: Event, sources: tuple[str, ...], functions: tuple[str, ...]) -> bool:
    source = frame.get("source")
    path = "/" + source.split(":", 1)[0] if isinstance(source, str) else ""
    return (any("/" + key in path for key in sources)
            or str(frame.get("function") or "").startswith(functions))


def helper_caller(frames: list[Event], faulted: Event, driver_of: DriverOf
                  ) -> tuple[Event, str | None, str] | None:
    """When the report faulted in a helper a virtio driver hands its buffers to: the virtio
    frame that handed it (the driver's own function first), the type of the device its
    driver drives, and the helper's layer ("dma" or "scatterlist"); None otherwise."""
    below = frames[next(i for i, frame in enumerate(frames) if frame is faulted) + 1:]
    if _in(faulted, DMA_SOURCES, DMA_FUNCTIONS):
        virtio = [(frame, kind) for frame in below if frame.get("function")
                  for ok, kind in [driver_of(frame)] if ok]
        if not virtio:
            return None
        frame, kind = next(((f, k) for f, k in virtio if k), virtio[0])
        return frame, kind, "dma"
    if not _in(faulted, SG_SOURCES, SG_FUNCTIONS):
        return None
    for frame in below:
        if not frame.get("function"):
            continue
        ok, kind = driver_of(frame)
        if ok:
            return frame, kind, "scatterlist"
        if not _in(frame, SG_SOURCES + DMA_SOURCES, SG_FUNCTIONS + DMA_FUNCTIONS):
            return None  # reached through code of no virtio driver
    return None
