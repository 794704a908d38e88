#!/usr/bin/env bash
# capture-extra.sh - real QEMU + Linux virtio logs for scenarios the samples in
# samples/ do not cover (other device classes, packed rings, q35 + IOMMU, SMP,
# multi-queue, dynamic debug, a guest killed mid-boot, run-to-run noise).
#
# Usage: bash scripts/capture-extra.sh SCENARIO...   |   --list
#
# It sources scripts/capture-samples.sh for its functions (packages, kernel,
# initramfs, run_qemu, capture, NOTES.md) and only adds modules and scenarios.
# Output: $SAMPLES_DIR/<scenario>/{trace.log,console.log,combined.log,NOTES.md}
# (default SAMPLES_DIR: samples/). Same network safety as capture-samples.sh:
# no -netdev at all, the guest configures no address and sends nothing.

set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=capture-samples.sh
source "$HERE/capture-samples.sh"

EXTRA_SCENARIOS=(scsi-balloon-input 9p-gpu-crypto smp2-net-mq-blk-mq packed-ring
                 q35-intel-iommu dyndbg-multi modern-only-force-legacy
                 killed-random repeat-a repeat-b net-mq-no-ctrl-vq virtio-iommu-no-driver
                 trace-queues-vhost-user)
ALL_SCENARIOS=("${EXTRA_SCENARIOS[@]}")

WANTED_MODULES+=(scsi_mod sd_mod virtio_scsi virtio_balloon virtio_input
                 9pnet_virtio virtio_gpu virtio_crypto)

SMP=1
eval "orig_$(declare -f scenario_setup)"
scenario_setup() {
    MACHINE=(-M pc); DEVICES=(); APPEND=""; WATCH_KILL=""; SMP=1
    TRACE_EVENTS=""; BEFORE_RUN=""; AFTER_RUN=""; BACKEND_CMD=""
    case "$1" in
    scsi-balloon-input)
        DEVICES=(-drive "if=none,id=d0,file=$DISK_IMG,format=raw"
                 -device virtio-scsi-pci,id=scsi0,addr=0x3
                 -device scsi-hd,drive=d0,bus=scsi0.0
                 -device virtio-balloon-pci,addr=0x4
                 -device virtio-keyboard-pci,addr=0x5
                 -device virtio-tablet-pci,addr=0x6)
        DESC="virtio-scsi-pci (00:03.0, one scsi-hd on a 1 MiB raw image), virtio-balloon-pci (00:04.0), virtio-keyboard-pci (00:05.0, modern-only), virtio-tablet-pci (00:06.0, modern-only)" ;;
    9p-gpu-crypto)
        DEVICES=(-fsdev "local,id=fs0,path=$WORK/share,security_model=none"
                 -device virtio-9p-pci,fsdev=fs0,mount_tag=share,addr=0x3
                 -device virtio-gpu-pci,addr=0x4
                 -object cryptodev-backend-builtin,id=cr0
                 -device virtio-crypto-pci,cryptodev=cr0,addr=0x5)
        DESC="virtio-9p-pci (00:03.0, fsdev local on a temp dir, not mounted), virtio-gpu-pci (00:04.0, -display none), virtio-crypto-pci (00:05.0, cryptodev-backend-builtin)" ;;
    smp2-net-mq-blk-mq)
        SMP=2
        DEVICES=(-drive "if=none,id=d0,file=$DISK_IMG,format=raw"
                 -device virtio-net-pci,mq=on,vectors=10,addr=0x3,mac=52:54:00:12:34:56
                 -device virtio-blk-pci,num-queues=2,addr=0x4,drive=d0)
        DESC="-smp 2; virtio-net-pci mq=on,vectors=10 (no backend, so 1 queue pair but VIRTIO_NET_F_MQ offered) at 00:03.0; virtio-blk-pci num-queues=2 at 00:04.0 (two request queues, one MSI-X vector each)" ;;
    packed-ring)
        DEVICES=(-device virtio-net-pci,packed=on,event_idx=off,indirect_desc=off,addr=0x3,mac=52:54:00:12:34:56
                 -device virtio-rng-pci,packed=on,addr=0x4)
        DESC="virtio-net-pci packed=on,event_idx=off,indirect_desc=off (00:03.0, no backend) and virtio-rng-pci packed=on (00:04.0): VIRTIO_F_RING_PACKED negotiated" ;;
    q35-intel-iommu)
        MACHINE=(-M q35 -device intel-iommu)
        DEVICES=(-drive "if=none,id=d0,file=$DISK_IMG,format=raw"
                 -device virtio-net-pci,disable-legacy=on,iommu_platform=on,addr=0x3,mac=52:54:00:12:34:56
                 -device virtio-blk-pci,disable-legacy=on,iommu_platform=on,addr=0x4,drive=d0)
        APPEND="intel_iommu=on"
        DESC="q35 machine with an emulated intel-iommu (guest intel_iommu=on); modern-only virtio-net-pci (00:03.0) and virtio-blk-pci (00:04.0) with iommu_platform=on (VIRTIO_F_ACCESS_PLATFORM)" ;;
    dyndbg-multi)
        DEVICES=(-drive "if=none,id=d0,file=$DISK_IMG,format=raw"
                 -device virtio-net-pci,addr=0x3,mac=52:54:00:12:34:56
                 -device virtio-blk-pci,addr=0x4,drive=d0
                 -device virtio-rng-pci,addr=0x5)
        APPEND="loglevel=8 virtio.dyndbg=+p virtio_ring.dyndbg=+p virtio_pci.dyndbg=+p virtio_pci_modern_dev.dyndbg=+p virtio_net.dyndbg=+p virtio_blk.dyndbg=+p virtio_rng.dyndbg=+p"
        DESC="net 00:03.0, blk 00:04.0, rng 00:05.0 (transitional); kernel loglevel=8 and dynamic debug (pr_debug/dev_dbg) on in every virtio module (MODULE.dyndbg=+p, passed to insmod by /init)" ;;
    modern-only-force-legacy)
        DEVICES=(-device virtio-net-pci,disable-legacy=on,mac=52:54:00:12:34:56)
        APPEND="virtio_pci.force_legacy=1"
        DESC="modern-only virtio-net-pci (1af4:1041) with the guest asking for legacy (virtio_pci.force_legacy=1): virtio_pci_legacy_probe refuses a non-transitional id with -ENODEV and virtio_pci falls back to the modern interface" ;;
    killed-random)
        DEVICES=(-drive "if=none,id=d0,file=$DISK_IMG,format=raw"
                 -device virtio-net-pci,addr=0x3,mac=52:54:00:12:34:56
                 -device virtio-blk-pci,addr=0x4,drive=d0
                 -device virtio-rng-pci,addr=0x5)
        DESC="as dyndbg-multi's devices without dyndbg; every run is ended by timeout -s KILL after a random number of seconds (RUN_TIMEOUT, KILL_MIN + RANDOM % KILL_SPAN, default 3..9), i.e. somewhere in the middle of the boot" ;;
    net-mq-no-ctrl-vq)
        DEVICES=(-device virtio-net-pci,mq=on,ctrl_vq=off,ctrl_rx=off,ctrl_vlan=off,ctrl_guest_offloads=off,ctrl_mac_addr=off,guest_announce=off,addr=0x3,mac=52:54:00:12:34:56)
        DESC="virtio-net-pci (00:03.0, no backend) offering VIRTIO_NET_F_MQ without VIRTIO_NET_F_CTRL_VQ (and every other ctrl-vq feature off): virtnet_validate_features refuses it (-EINVAL), so virtio_net's probe fails and the core sets FAILED" ;;
    virtio-iommu-no-driver)
        MACHINE=(-M q35)
        DEVICES=(-device virtio-iommu-pci,addr=0x3
                 -device virtio-rng-pci,addr=0x4)
        DESC="q35 with a virtio-iommu-pci (00:03.0, modern-only 1af4:1057) for which Debian's kernel has no driver (CONFIG_VIRTIO_IOMMU is not set) and a transitional virtio-rng-pci (00:04.0) that is driven" ;;
    trace-queues-vhost-user)
        # every virtio, virtqueue and vhost trace event, with a vhost-user-blk device whose
        # back-end is qemu-storage-daemon on a unix socket in $WORK (guest RAM shared with
        # it through a memfd backend, as vhost-user needs); the NIC's back-end is slirp
        # with restrict=on (no traffic leaves; the guest configures no address anyway)
        TRACE_EVENTS="virt* vhost_*"
        MACHINE=(-M pc,memory-backend=mem0
                 -object memory-backend-memfd,id=mem0,size=512M,share=on)
        DEVICES=(-drive "if=none,id=d0,file=$DISK_IMG,format=raw"
                 -netdev user,id=n0,restrict=on
                 -device virtio-net-pci,netdev=n0,addr=0x3,mac=52:54:00:12:34:56
                 -device virtio-blk-pci,addr=0x4,drive=d0
                 -device virtio-rng-pci,addr=0x5
                 -chardev "socket,id=vub0,path=$WORK/vub.sock"
                 -device vhost-user-blk-pci,chardev=vub0,addr=0x6)
        BEFORE_RUN=start_vhost_user_blk; AFTER_RUN=stop_vhost_user_blk
        BACKEND_VERSION="$(qemu-storage-daemon --version | head -1)"
        BACKEND_CMD="timeout 300 qemu-storage-daemon --blockdev driver=file,node-name=vub0file,filename=\$WORK/vub.img --export type=vhost-user-blk,id=vub0,node-name=vub0file,addr.type=unix,addr.path=\$WORK/vub.sock,writable=on,num-queues=1 > \$WORK/qsd.log 2>&1 &"
        DESC="-trace 'virt*' -trace 'vhost_*' (virtio_*, virtqueue_* and vhost_* events); transitional virtio-net-pci (00:03.0, -netdev user,restrict=on), virtio-blk-pci (00:04.0, 1 MiB raw image), virtio-rng-pci (00:05.0), vhost-user-blk-pci (00:06.0, transitional 1af4:1001; back-end qemu-storage-daemon exporting a 1 MiB raw image on a unix socket; guest RAM a 512 MiB shared memfd)" ;;
    repeat-a|repeat-b)
        DEVICES=(-drive "if=none,id=d0,file=$DISK_IMG,format=raw"
                 -device virtio-net-pci,addr=0x3,mac=52:54:00:12:34:56
                 -device virtio-blk-pci,addr=0x4,drive=d0)
        DESC="the same command twice (repeat-a, repeat-b): transitional net 00:03.0 + blk 00:04.0, for run-to-run noise" ;;
    *) die "unknown scenario: $1 (try --list)" ;;
    esac
}

# The vhost-user-blk back-end of trace-queues-vhost-user: started before each QEMU run,
# stopped (by the pid started here) after it; bounded by timeout like QEMU.
start_vhost_user_blk() {
    rm -f "$WORK/vub.sock"
    [ -f "$WORK/vub.img" ] || truncate -s 1M "$WORK/vub.img"
    timeout 300 qemu-storage-daemon \
        --blockdev "driver=file,node-name=vub0file,filename=$WORK/vub.img" \
        --export "type=vhost-user-blk,id=vub0,node-name=vub0file,addr.type=unix,addr.path=$WORK/vub.sock,writable=on,num-queues=1" \
        > "$WORK/qsd.log" 2>&1 &
    VUB_PID=$!
    local i
    for i in $(seq 1 100); do [ -S "$WORK/vub.sock" ] && return 0; sleep 0.1; done
    die "qemu-storage-daemon did not create $WORK/vub.sock: $(cat "$WORK/qsd.log")"
}
stop_vhost_user_blk() {
    kill "$VUB_PID" 2>/dev/null || true
    wait "$VUB_PID" 2>/dev/null || true
}

# -smp from the scenario: capture() hard-codes -smp 1, so patch its argv
eval "$(declare -f capture | sed 's/-smp 1 /-smp "$SMP" /')"

main_extra() {
    if [ "${1:-}" = --list ]; then printf '%s\n' "${ALL_SCENARIOS[@]}"; exit 0; fi
    [ $# -gt 0 ] || set -- "${ALL_SCENARIOS[@]}"
    ensure_packages
    pick_kernel
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/virtiodiag-extra.XXXXXX")
    [ -n "${KEEP_WORK:-}" ] && log "keeping $WORK" || trap 'rm -rf "$WORK"' EXIT
    cp "$KERNEL_IMG" "$WORK/vmlinuz"
    build_initramfs "$WORK/initramfs.cpio.gz"
    DISK_IMG="$WORK/disk.img"; truncate -s 1M "$DISK_IMG"
    mkdir -p "$WORK/share"; echo hello > "$WORK/share/hello.txt"
    log "kernel $KVER, modules: $MODULE_LOAD_ORDER"
    local s
    for s in "$@"; do
        if [ "$s" = killed-random ]; then
            RUN_TIMEOUT=$(( ${KILL_MIN:-3} + RANDOM % ${KILL_SPAN:-7} )) capture "$s"
        else
            capture "$s"
        fi
    done
}
main_extra "$@"
