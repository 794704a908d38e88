"""``virtiodiag run``: boot a guest (usually QEMU), capture both sides and diagnose live.

- ``qemu_args``: what ``run`` adds to a QEMU command line (virtio traces, timestamps, its
  own QMP socket) and what it warns about (a NIC with a network back-end);
- ``child``: starting the command in its own process group, stopping it (SIGTERM, then
  SIGKILL) and making sure it never outlives virtiodiag (PR_SET_PDEATHSIG and a watchdog);
- ``qmp``: the device's own view, asked from QEMU over QMP (``qemu.qmp``);
- ``session``: one run: the merged stream through the analysis, the stop conditions.
"""
