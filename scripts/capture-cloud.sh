#!/usr/bin/env bash
# capture-cloud.sh - real QEMU + Linux virtio logs with Debian kernels of other
# builds than the generic linux-image-amd64 of capture-samples.sh: the cloud
# flavour (linux-image-6.1.0-N-cloud-amd64) and the PREEMPT_RT flavour
# (linux-image-6.1.0-N-rt-amd64).
#
# Usage: bash scripts/capture-cloud.sh SCENARIO...   |   --list
#
# Note: Debian 12's cloud kernel does NOT build the virtio drivers in: its
# config has CONFIG_VIRTIO=m, CONFIG_VIRTIO_PCI=m, CONFIG_VIRTIO_NET=m,
# CONFIG_VIRTIO_BLK=m, CONFIG_VIRTIO_MMIO=m ... like the generic one (only
# CONFIG_VIRTIO_ANCHOR=y). So the guest /init still insmods them; build_initramfs
# skips whatever `modinfo -k` reports as builtin and drops what the flavour
# does not have (e.g. the cloud kernel has no virtio_gpu, virtio_crypto, 9p).
#
# It sources scripts/capture-samples.sh for its functions (packages, initramfs,
# run_qemu, capture, NOTES.md); each scenario names its kernel flavour and the
# initramfs is rebuilt when the flavour changes. The kernel packages must be
# installed (apt-get install linux-image-6.1.0-N-cloud-amd64 linux-image-6.1.0-N-rt-amd64).
# Output: $SAMPLES_DIR/<scenario>/{trace.log,console.log,combined.log,NOTES.md}.
# Network safety as in capture-samples.sh: no -netdev at all, -nodefaults, the
# guest configures no address and sends nothing, every run under timeout(1).

set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=capture-samples.sh
source "$HERE/capture-samples.sh"

CLOUD_SCENARIOS=(cloud-multi-device cloud-force-legacy cloud-microvm-noacpi
                 cloud-microvm-acpi cloud-net-mq-no-ctrl-vq rt-multi-device)
ALL_SCENARIOS=("${CLOUD_SCENARIOS[@]}")

WANTED_MODULES+=(scsi_mod sd_mod virtio_scsi)
DEFAULT_TIMEOUT=$RUN_TIMEOUT

flavour_of() {
    case "$1" in (rt-*) echo rt-amd64 ;; (*) echo cloud-amd64 ;; esac
}

MULTI_DEVICES() {
    DEVICES=(-drive "if=none,id=d0,file=$DISK_IMG,format=raw"
             -drive "if=none,id=d1,file=$DISK2_IMG,format=raw"
             -device virtio-net-pci,disable-legacy=on,addr=0x3,mac=52:54:00:12:34:56
             -device virtio-blk-pci,disable-legacy=on,addr=0x4,drive=d0
             -device virtio-rng-pci,disable-legacy=on,addr=0x5
             -device virtio-serial-pci,disable-legacy=on,addr=0x6
             -device virtio-scsi-pci,disable-legacy=on,id=scsi0,addr=0x7
             -device scsi-hd,drive=d1,bus=scsi0.0)
}

scenario_setup() {
    MACHINE=(-M pc); DEVICES=(); APPEND=""; WATCH_KILL=""; RUN_TIMEOUT=$DEFAULT_TIMEOUT
    case "$1" in
    cloud-multi-device|rt-multi-device)
        MULTI_DEVICES
        DESC="$(flavour_of "$1") kernel; five modern-only (disable-legacy=on) virtio PCI devices: net 00:03.0 (no backend), blk 00:04.0 (1 MiB raw), rng 00:05.0, serial/console 00:06.0 (no ports), scsi 00:07.0 (one scsi-hd on a second 1 MiB raw image)" ;;
    cloud-force-legacy)
        DEVICES=(-drive "if=none,id=d0,file=$DISK_IMG,format=raw"
                 -device virtio-net-pci,addr=0x3,mac=52:54:00:12:34:56
                 -device virtio-blk-pci,addr=0x4,drive=d0)
        APPEND="virtio_pci.force_legacy=1"
        DESC="cloud-amd64 kernel; transitional virtio-net-pci 00:03.0 (no backend) and virtio-blk-pci 00:04.0, guest forced to the legacy interface with virtio_pci.force_legacy=1 (passed by /init to insmod virtio_pci.ko)" ;;
    cloud-microvm-noacpi)
        MACHINE=(-M microvm,acpi=off -global virtio-mmio.force-legacy=false)
        DEVICES=(-drive "if=none,id=d0,file=$DISK_IMG,format=raw"
                 -device virtio-net-device,mac=52:54:00:12:34:56
                 -device virtio-blk-device,drive=d0)
        APPEND="$MICROVM_APPEND"
        # the guest cannot power off without ACPI ("reboot: System halted"): the
        # run ends by timeout, so keep it short (the boot takes about 5 s)
        RUN_TIMEOUT=30
        DESC="cloud-amd64 kernel; -M microvm,acpi=off: no ACPI tables, so QEMU (auto-kernel-cmdline) appends virtio_mmio.device=512@0xBASE:IRQ for each virtio-mmio transport to the kernel command line, but Debian builds virtio_mmio without CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES ('virtio_mmio: unknown parameter 'device' ignored'): the guest never finds the two transports (virtio-net-device, virtio-blk-device, virtio-mmio version 2)" ;;
    cloud-microvm-acpi)
        MACHINE=(-M microvm,acpi=on -global virtio-mmio.force-legacy=false)
        DEVICES=(-drive "if=none,id=d0,file=$DISK_IMG,format=raw"
                 -device virtio-net-device,mac=52:54:00:12:34:56
                 -device virtio-blk-device,drive=d0)
        APPEND="$MICROVM_APPEND"
        DESC="cloud-amd64 kernel; -M microvm,acpi=on: the virtio-mmio transports are ACPI devices LNRO0005; virtio-net-device + virtio-blk-device, virtio-mmio version 2 (force-legacy=false)" ;;
    cloud-net-mq-no-ctrl-vq)
        DEVICES=(-device virtio-net-pci,mq=on,ctrl_vq=off,ctrl_rx=off,ctrl_vlan=off,ctrl_guest_offloads=off,ctrl_mac_addr=off,guest_announce=off,addr=0x3,mac=52:54:00:12:34:56)
        DESC="cloud-amd64 kernel; virtio-net-pci 00:03.0 (transitional, no backend) offering VIRTIO_NET_F_MQ without VIRTIO_NET_F_CTRL_VQ: virtnet_validate_features refuses it (-EINVAL), virtio_net's probe fails and the core sets FAILED" ;;
    *) die "unknown scenario: $1 (try --list)" ;;
    esac
}

# the versions block names the metapackage of the flavour booted, not linux-image-amd64
eval "$(declare -f versions_block | sed 's/linux-image-amd64/linux-image-$KERNEL_FLAVOUR/g')"

prepare_flavour() {  # prepare_flavour FLAVOUR: kernel + initramfs of that flavour in $WORK
    KERNEL_FLAVOUR=$1
    pick_kernel
    MODULE_ORDER=(); MOD_SEEN=()
    cp "$KERNEL_IMG" "$WORK/vmlinuz"
    build_initramfs "$WORK/initramfs.cpio.gz"
    log "kernel $KVER, modules: $MODULE_LOAD_ORDER"
    CURRENT_FLAVOUR=$1
}

main_cloud() {
    if [ "${1:-}" = --list ]; then printf '%s\n' "${ALL_SCENARIOS[@]}"; exit 0; fi
    [ $# -gt 0 ] || set -- "${ALL_SCENARIOS[@]}"
    local s
    check_scenarios "$@"
    ensure_packages
    make_work cloud
    DISK_IMG="$WORK/disk.img"; truncate -s 1M "$DISK_IMG"
    DISK2_IMG="$WORK/disk2.img"; truncate -s 1M "$DISK2_IMG"
    CURRENT_FLAVOUR=""
    for s in "$@"; do
        [ "$(flavour_of "$s")" = "$CURRENT_FLAVOUR" ] || prepare_flavour "$(flavour_of "$s")"
        capture "$s"
    done
}
main_cloud "$@"
