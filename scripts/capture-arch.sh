#!/usr/bin/env bash
# capture-arch.sh - real QEMU + Linux virtio logs on arm64 and riscv64 (`-M virt`, TCG),
# with Debian's own kernels and static busybox of those architectures, and U-Boot's
# virtio output on riscv64.
#
# Usage: bash scripts/capture-arch.sh [SCENARIO...]   |   --list
#
# Kernels and busybox of a foreign architecture are not installed: their .deb packages
# are fetched with apt-get download through a private apt configuration (its own
# sources list, lists and cache under $ARCH_CACHE, default ~/.cache/virtiodiag-arch;
# the machine's sources and dpkg architectures are not touched) and unpacked there:
#   arm64:   Debian 12 (bookworm) linux-image-$ARM64_KVER, busybox-static
#   riscv64: Debian 13 (trixie; bookworm has no riscv64) linux-image-$RISCV64_KVER,
#            busybox-static
#   arm64 under EDK2 (arm64-virt-edk2-*): Debian 13 linux-image-$ARM64_TRIXIE_KVER,
#            busybox-static (a 6.12 kernel beside the direct-boot scenarios' 6.1)
# The modules are found with `modinfo -b` in the unpacked tree (depmod -b builds its
# modules.dep first). Firmware: QEMU's `-M virt` on arm64 boots the kernel directly
# (no firmware), or EDK2 (Debian's qemu-efi-aarch64, AAVMF_CODE.fd on pflash, a copy of
# AAVMF_VARS.fd beside it) loads it from fw_cfg (-kernel) and runs its EFI stub, with ACPI;
# on riscv64 OpenSBI from Debian's opensbi package (fw_dynamic for a kernel, fw_jump +
# U-Boot's qemu-riscv64_smode for the U-Boot scenario).
#
# riscv64 with MSIs (riscv64-virt-imsic-msix, -M virt,aia=aplic-imsic): bookworm's QEMU 7.2
# never delivers an IMSIC interrupt to this 6.12 kernel (the boot stalls once the console's
# 8250 is re-registered; with a virtio console instead, its control messages are notified
# and never taken), with Debian's OpenSBI 1.1 or trixie's 1.6, with or without
# -cpu rv64,x-smaia=true,x-ssaia=true. That scenario runs QEMU 10.0 from bookworm-backports
# (qemu-system-riscv, unpacked under $ARCH_CACHE like the guest packages: its libraries are
# bookworm's own) with trixie's opensbi 1.6 (the version that package depends on).
#
# It sources scripts/capture-samples.sh for its functions (initramfs, run_qemu, capture,
# NOTES.md): each kernel scenario boots twice (trace.log + console.log, then
# combined.log), the guest /init loads the virtio modules, prints the sysfs dump and
# powers off. The U-Boot scenario uses scripts/console-drive.py as capture-firmware.sh
# does.
#
# Network safety: no NIC has a backend (no -netdev at all, -nodefaults), the guest
# configures no address and sends nothing; U-Boot's autoboot is stopped and a network
# boot would kill QEMU at once; every run is bounded by timeout(1).

set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=capture-samples.sh
source "$HERE/capture-samples.sh"

ALL_SCENARIOS=(arm64-virt-mmio arm64-virt-pci riscv64-virt-mmio riscv64-virt-pci
               riscv64-uboot-virtio arm64-virt-mmio-modern-net-fail arm64-virt-pci-gicv2m
               arm64-uboot-virtio riscv64-virt-aplic-mixed arm64-virt-edk2-acpi
               riscv64-virt-imsic-msix riscv64-virt-imsic-qemu72-stall)
ARCH_CACHE=${ARCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtiodiag-arch}
ARM64_KVER=${ARM64_KVER:-6.1.0-57-arm64}
# (6.12.117, which the riscv64 samples before 2026-12-02 were captured with, has left the
# archive: trixie-security keeps only the newest)
RISCV64_KVER=${RISCV64_KVER:-6.12.118+deb13-riscv64}
ARM64_TRIXIE_KVER=${ARM64_TRIXIE_KVER:-6.12.118+deb13-arm64}
AAVMF_CODE=/usr/share/AAVMF/AAVMF_CODE.fd
AAVMF_VARS=/usr/share/AAVMF/AAVMF_VARS.fd
OPENSBI_DIR=/usr/lib/riscv64-linux-gnu/opensbi/generic
UBOOT_RISCV64=/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin
UBOOT_ARM64=/usr/lib/u-boot/qemu_arm64/u-boot.bin
# TCG: an arm64 or riscv64 boot of a Debian kernel takes 20-60 s on a loaded machine
DEFAULT_TIMEOUT=${RUN_TIMEOUT_ARCH:-240}
WANTED_MODULES+=(virtio_scsi)

log() { printf 'capture-arch: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

ensure_packages() {  # ensure_packages SCENARIO...: what those scenarios need
    local need=() s arm64="" riscv64=""
    local efi=""
    for s in "$@"; do case "$s" in (arm64-*) arm64=1 ;; (riscv64-*) riscv64=1 ;; esac; done
    for s in "$@"; do case "$s" in (arm64-virt-edk2-*) efi=1 ;; esac; done
    if [ -n "$arm64" ]; then
        command -v qemu-system-aarch64 >/dev/null 2>&1 || need+=(qemu-system-arm)
        [ -f "$UBOOT_ARM64" ] || need+=(u-boot-qemu)
        [ -z "$efi" ] || [ -f "$AAVMF_CODE" ] || need+=(qemu-efi-aarch64)
    fi
    if [ -n "$riscv64" ]; then
        command -v qemu-system-riscv64 >/dev/null 2>&1 || need+=(qemu-system-misc)
        [ -f "$OPENSBI_DIR/fw_dynamic.bin" ] || need+=(opensbi)
        [ -f "$UBOOT_RISCV64" ] || need+=(u-boot-qemu)
    fi
    have_pkg busybox-static || need+=(busybox-static)   # the host's applet list
    local c
    for c in cpio:cpio depmod:kmod xz:xz-utils zstd:zstd dpkg-deb:dpkg python3:python3 pgrep:procps; do
        command -v "${c%%:*}" >/dev/null 2>&1 || need+=("${c#*:}")
    done
    install_missing "${need[@]}"
}

# apt_private SUITE ARCH ARGS...: apt-get with its own sources list (SUITE, ARCH only),
# (+ -updates, -security for a release; a suite like bookworm-backports alone), lists and
# cache under $ARCH_CACHE/apt-SUITE-ARCH
apt_private() {
    local suite=$1 arch=$2; shift 2
    local d="$ARCH_CACHE/apt-$suite-$arch"
    mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
    local o="[arch=$arch signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]"
    if [[ $suite = *-* ]]; then
        printf 'deb %s http://deb.debian.org/debian %s main\n' "$o" "$suite" > "$d/sources.list"
    else
        printf 'deb %s http://deb.debian.org/debian %s main\n' "$o" "$suite" "$o" "$suite-updates" > "$d/sources.list"
        printf 'deb %s http://deb.debian.org/debian-security %s-security main\n' "$o" "$suite" >> "$d/sources.list"
    fi
    # (the sandbox user _apt cannot reach a cache under root's home)
    apt-get -o Dir::Etc::SourceList="$d/sources.list" -o Dir::Etc::SourceParts=/dev/null \
        -o Dir::State::Lists="$d/lists" -o Dir::Cache="$d/cache" \
        -o APT::Architectures::="$arch" -o APT::Sandbox::User=root "$@"
}

# Two runs at once (CI and a developer's suite, two xdist workers) share $ARCH_CACHE: the
# first to fetch removed and unpacked the tree the other was unpacking into ("tar: Cannot
# utime: No such file or directory"), and apt's lists have a lock of their own. One fetch
# at a time: the lock is taken when a tree is missing, and the tree checked again under it.
cache_lock() { mkdir -p "$ARCH_CACHE"; exec 8>"$ARCH_CACHE/fetch.lock"; flock 8; }
cache_unlock() { flock -u 8; exec 8>&-; }

# fetch_guest SUITE ARCH KVER: unpack linux-image-KVER and busybox-static of ARCH into
# $ARCH_CACHE/root-KVER (once); sets GUEST_ROOT, KVER, KERNEL_IMG, MODINFO_BASE,
# GUEST_BUSYBOX and GUEST_PKGS (the exact package versions, for NOTES.md)
fetch_guest() {
    local suite=$1 arch=$2 kver=$3 root="$ARCH_CACHE/root-$3" deb
    local locked=
    [ -f "$root/.complete" ] || { cache_lock; locked=1; }
    if [ ! -f "$root/.complete" ]; then
        log "fetching linux-image-$kver and busybox-static ($suite, $arch)"
        apt_private "$suite" "$arch" update -qq >&2
        rm -rf "$root" "$ARCH_CACHE/debs-$kver"; mkdir -p "$root" "$ARCH_CACHE/debs-$kver"
        (cd "$ARCH_CACHE/debs-$kver" &&
         apt_private "$suite" "$arch" download -q "linux-image-$kver:$arch" "busybox-static:$arch" >&2)
        for deb in "$ARCH_CACHE/debs-$kver"/*.deb; do
            dpkg-deb -x "$deb" "$root"
            dpkg-deb -W --showformat='${Package} ${Version} ${Architecture}\n' "$deb" >> "$root/.packages"
        done
        touch "$root/.complete"
    fi
    [ -z "$locked" ] || cache_unlock
    GUEST_ROOT=$root; KVER=$kver
    # merged /usr (trixie) or not (bookworm)
    MODINFO_BASE=$root; [ -d "$root/lib/modules/$kver" ] || MODINFO_BASE=$root/usr
    [ -d "$MODINFO_BASE/lib/modules/$kver" ] || die "no modules tree for $kver in $root"
    KERNEL_IMG=$(ls "$root"/boot/vmlinu[xz]-"$kver")
    GUEST_BUSYBOX=$root/bin/busybox; [ -f "$GUEST_BUSYBOX" ] || GUEST_BUSYBOX=$root/usr/bin/busybox
    [ -f "$MODINFO_BASE/lib/modules/$kver/modules.dep" ] || depmod -b "$MODINFO_BASE" "$kver"
    GUEST_PKGS=$(paste -sd';' "$root/.packages" | sed 's/;/; /g')
}

# fetch_host SUITE NAME PKG...: unpack host (amd64) packages of SUITE into
# $ARCH_CACHE/host-NAME (once), not installed; sets HOST_ROOT and HOST_PKGS (versions)
fetch_host() {
    local suite=$1 name=$2 root="$ARCH_CACHE/host-$2" deb; shift 2
    local locked=
    [ -f "$root/.complete" ] || { cache_lock; locked=1; }
    if [ ! -f "$root/.complete" ]; then
        log "fetching $* ($suite, amd64; unpacked in $root)"
        apt_private "$suite" amd64 update -qq >&2
        rm -rf "$root" "$ARCH_CACHE/debs-host-$name"; mkdir -p "$root" "$ARCH_CACHE/debs-host-$name"
        (cd "$ARCH_CACHE/debs-host-$name" && apt_private "$suite" amd64 download -q "$@" >&2)
        for deb in "$ARCH_CACHE/debs-host-$name"/*.deb; do
            dpkg-deb -x "$deb" "$root"
            dpkg-deb -W --showformat='${Package} ${Version} ${Architecture}\n' "$deb" >> "$root/.packages"
        done
        touch "$root/.complete"
    fi
    [ -z "$locked" ] || cache_unlock
    HOST_ROOT=$root
    HOST_PKGS=$(paste -sd';' "$root/.packages" | sed 's/;/; /g')
}

# The guest kernel a scenario boots: arm64 (bookworm 6.1), arm64-trixie (6.12, for EDK2),
# riscv64
guest_of() { case "$1" in (arm64-virt-edk2-*) echo arm64-trixie ;; (*) arch_of "$1" ;; esac; }

prepare_arch() {  # prepare_arch GUEST (guest_of): kernel + initramfs of that arch in $WORK
    case "$1" in
        arm64) fetch_guest bookworm arm64 "$ARM64_KVER" ;;
        arm64-trixie) fetch_guest trixie arm64 "$ARM64_TRIXIE_KVER" ;;
        riscv64) fetch_guest trixie riscv64 "$RISCV64_KVER" ;;
    esac
    guest_ready "$1"
}

guest_ready() {  # guest_ready GUEST: after fetch_guest, the kernel and initramfs in $WORK
    MODULE_ORDER=(); MOD_SEEN=()
    cp "$KERNEL_IMG" "$WORK/vmlinuz"
    build_initramfs "$WORK/initramfs.cpio.gz"
    log "$1: kernel $KVER, modules: $MODULE_LOAD_ORDER"
    CURRENT_ARCH=$1
}

arch_of() { echo "${1%%-*}"; }

# three devices on the virt machine's virtio-mmio transports (-device virtio-*-device)
MMIO_DEVICES() {
    DEVICES=(-drive "if=none,id=d0,file=$DISK_IMG,format=raw"
             -device virtio-net-device,mac=52:54:00:12:34:56
             -device virtio-blk-device,drive=d0
             -device virtio-rng-device)
}
# three on the gpex PCIe host bridge (pcie.0), slots 1-3
PCI_DEVICES() {
    DEVICES=(-drive "if=none,id=d0,file=$DISK_IMG,format=raw"
             -device virtio-net-pci,addr=0x1,mac=52:54:00:12:34:56
             -device virtio-blk-pci,addr=0x2,drive=d0
             -device virtio-rng-pci,addr=0x3)
}

scenario_setup() {
    DEVICES=(); APPEND=""; WATCH_KILL=""; RUN_TIMEOUT=$DEFAULT_TIMEOUT; FIRMWARE_DESC=""
    case "$1" in
    arm64-virt-mmio)
        QEMU=qemu-system-aarch64; BASE_APPEND="console=ttyAMA0 ignore_loglevel panic=-1"
        # pauth-impdef: QEMU's own pointer-authentication algorithm, much faster under TCG
        # than the architected QARMA (the CPU is still -cpu max)
        MACHINE=(-M virt -cpu max,pauth-impdef=on)
        MMIO_DEVICES
        DESC="arm64, qemu-system-aarch64 -M virt (GICv2, the default) -cpu max under TCG, no firmware (QEMU loads the kernel); virtio-net-device (no backend), virtio-blk-device (1 MiB raw image), virtio-rng-device on the machine's 32 virtio-mmio transports (device tree nodes virtio_mmio@a000000..a003e00, QEMU default force-legacy=on: MagicValue 'virt', Version 1), the 29 others empty (device id 0)" ;;
    arm64-virt-pci)
        QEMU=qemu-system-aarch64; BASE_APPEND="console=ttyAMA0 ignore_loglevel panic=-1"
        MACHINE=(-M virt,gic-version=3 -cpu max,pauth-impdef=on)
        PCI_DEVICES
        DESC="arm64, qemu-system-aarch64 -M virt,gic-version=3 (GICv3 with its ITS: MSI-X through the ITS) -cpu max under TCG, no firmware; transitional virtio-net-pci 00:01.0 (no backend), virtio-blk-pci 00:02.0 (1 MiB raw image), virtio-rng-pci 00:03.0 on the gpex PCIe host bridge (pci-host-ecam-generic)" ;;
    arm64-virt-mmio-modern-net-fail)
        QEMU=qemu-system-aarch64; BASE_APPEND="console=ttyAMA0 ignore_loglevel panic=-1"
        MACHINE=(-M virt -cpu max,pauth-impdef=on -global virtio-mmio.force-legacy=false)
        DEVICES=(-drive "if=none,id=d0,file=$DISK_IMG,format=raw"
                 -device virtio-net-device,mq=on,ctrl_vq=off,ctrl_rx=off,ctrl_vlan=off,ctrl_guest_offloads=off,ctrl_mac_addr=off,guest_announce=off,mac=52:54:00:12:34:56
                 -device virtio-blk-device,drive=d0)
        DESC="arm64, -M virt (GICv2) -cpu max under TCG, virtio-mmio version 2 (-global virtio-mmio.force-legacy=false); virtio-net-device (no backend) offering VIRTIO_NET_F_MQ without VIRTIO_NET_F_CTRL_VQ (virtnet_validate_features refuses it: the probe fails, the core sets FAILED) and a working virtio-blk-device (1 MiB raw image)" ;;
    arm64-virt-pci-gicv2m)
        QEMU=qemu-system-aarch64; BASE_APPEND="console=ttyAMA0 ignore_loglevel panic=-1"
        MACHINE=(-M virt -cpu max,pauth-impdef=on)
        DEVICES=(-drive "if=none,id=d0,file=$DISK_IMG,format=raw"
                 -device virtio-net-pci,disable-legacy=on,addr=0x1,mac=52:54:00:12:34:56
                 -device virtio-blk-pci,disable-legacy=on,addr=0x2,drive=d0)
        DESC="arm64, -M virt (GICv2, the default: MSIs through the GICv2m frame) -cpu max under TCG; modern-only (disable-legacy=on) virtio-net-pci 00:01.0 (1af4:1041, no backend) and virtio-blk-pci 00:02.0 (1af4:1042) on the gpex host bridge" ;;
    riscv64-virt-mmio)
        QEMU=qemu-system-riscv64; BASE_APPEND="console=ttyS0 ignore_loglevel panic=-1"
        MACHINE=(-M virt -bios "$OPENSBI_DIR/fw_dynamic.bin")
        MMIO_DEVICES
        DESC="riscv64, qemu-system-riscv64 -M virt (PLIC, the default) under TCG, OpenSBI fw_dynamic (Debian opensbi) then the kernel; virtio-net-device (no backend), virtio-blk-device (1 MiB raw image), virtio-rng-device on the machine's 8 virtio-mmio transports (virtio_mmio@10001000..10008000, force-legacy=on: Version 1), the others empty" ;;
    riscv64-virt-aplic-mixed)
        QEMU=qemu-system-riscv64; BASE_APPEND="console=ttyS0 ignore_loglevel panic=-1"
        # aia=aplic: the APLIC in direct mode (wired interrupts, no IMSIC: see above)
        MACHINE=(-M virt,aia=aplic -bios "$OPENSBI_DIR/fw_dynamic.bin"
                 -global virtio-mmio.force-legacy=false)
        DEVICES=(-drive "if=none,id=d0,file=$DISK_IMG,format=raw"
                 -device virtio-blk-device,drive=d0
                 -device virtio-net-pci,disable-legacy=on,addr=0x1,mac=52:54:00:12:34:56
                 -device virtio-rng-pci,disable-legacy=on,addr=0x2)
        DESC="riscv64, qemu-system-riscv64 -M virt,aia=aplic (an APLIC in direct mode instead of the PLIC) under TCG, OpenSBI fw_dynamic; both transports at once: virtio-blk-device (1 MiB raw image) on virtio-mmio version 2 (-global virtio-mmio.force-legacy=false), modern-only virtio-net-pci 00:01.0 (1af4:1041, no backend) and virtio-rng-pci 00:02.0 (1af4:1044)" ;;
    arm64-virt-edk2-acpi)
        QEMU=qemu-system-aarch64; BASE_APPEND="console=ttyAMA0 ignore_loglevel panic=-1"
        cp "$AAVMF_VARS" "$WORK/AAVMF_VARS.fd"
        # EDK2 (pflash) takes -kernel/-initrd/-append from fw_cfg and starts the kernel's EFI
        # stub; QEMU gives it ACPI tables, so Linux boots with ACPI (the EFI stub makes an
        # empty DTB): PCI through MCFG, MSI-X through the IORT's ITS, virtio-mmio
        # transports as the DSDT's 32 LNRO0005 devices, all empty here
        MACHINE=(-M virt,gic-version=3 -cpu max,pauth-impdef=on
                 -drive "if=pflash,format=raw,readonly=on,file=$AAVMF_CODE"
                 -drive "if=pflash,format=raw,file=$WORK/AAVMF_VARS.fd")
        DEVICES=(-drive "if=none,id=d0,file=$DISK_IMG,format=raw"
                 -device virtio-net-pci,addr=0x1,romfile=,mac=52:54:00:12:34:56
                 -device virtio-blk-pci,addr=0x2,drive=d0
                 -device virtio-rng-pci,addr=0x3
                 -device virtio-scsi-pci,id=scsi0,addr=0x4
                 -drive "if=none,id=d1,file=$DISK2_IMG,format=raw"
                 -device scsi-hd,drive=d1,bus=scsi0.0)
        FIRMWARE_DESC="EDK2 $(dpkg-query -W -f '${Package} ${Version}' qemu-efi-aarch64) (AAVMF_CODE.fd, a release build: it prints only its banner), pflash"
        DESC="arm64, qemu-system-aarch64 -M virt,gic-version=3 -cpu max under TCG with EDK2 firmware (Debian qemu-efi-aarch64 AAVMF_CODE.fd on pflash unit 0, a copy of AAVMF_VARS.fd on unit 1) loading the kernel from fw_cfg through its EFI stub; Linux boots with ACPI (MCFG, IORT: MSI-X through the GICv3 ITS); transitional virtio-net-pci 00:01.0 (no backend, romfile=), virtio-blk-pci 00:02.0 (1 MiB raw image), virtio-rng-pci 00:03.0 (EDK2's VirtioRngDxe drives it for the EFI stub's EFI_RNG_PROTOCOL), virtio-scsi-pci 00:04.0 with one scsi-hd (1 MiB raw image); EDK2 also reads the 32 empty virtio-mmio transports' registers" ;;
    riscv64-virt-imsic-msix)
        QEMU=$QEMU10_ROOT/usr/bin/qemu-system-riscv64; BASE_APPEND="console=ttyS0 ignore_loglevel panic=-1"
        MACHINE=(-M virt,aia=aplic-imsic -bios "$OPENSBI16_ROOT/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin")
        DEVICES=(-drive "if=none,id=d0,file=$DISK_IMG,format=raw"
                 -device virtio-net-pci,addr=0x1,romfile=,mac=52:54:00:12:34:56
                 -device virtio-blk-pci,addr=0x2,drive=d0
                 -device virtio-rng-pci,addr=0x3)
        FIRMWARE_DESC="OpenSBI fw_dynamic from $(grep '^opensbi ' "$OPENSBI16_ROOT/.packages") (trixie, unpacked)"
        DESC="riscv64, qemu-system-riscv64 10.0 (bookworm-backports, unpacked) -M virt,aia=aplic-imsic (an IMSIC per hart for MSIs, the APLIC in MSI mode for wired interrupts) under TCG, OpenSBI 1.6 fw_dynamic then the kernel (virtio_pci built in); transitional virtio-net-pci 00:01.0 (no backend, romfile=), virtio-blk-pci 00:02.0 (1 MiB raw image), virtio-rng-pci 00:03.0 on the gpex PCIe host bridge, their MSI-X vectors through the IMSIC" ;;
    riscv64-virt-imsic-qemu72-stall)
        # a failure capture: what riscv64-virt-imsic-msix is with bookworm's own QEMU 7.2
        # and OpenSBI 1.1. The boot stops once the 8250 console is re-registered (no IMSIC
        # interrupt is ever taken), so each run ends at its timeout, shorter here.
        QEMU=qemu-system-riscv64; BASE_APPEND="console=ttyS0 ignore_loglevel panic=-1"
        RUN_TIMEOUT=${RUN_TIMEOUT_STALL:-150}
        MACHINE=(-M virt,aia=aplic-imsic -bios "$OPENSBI_DIR/fw_dynamic.bin")
        DEVICES=(-drive "if=none,id=d0,file=$DISK_IMG,format=raw"
                 -device virtio-net-pci,addr=0x1,romfile=,mac=52:54:00:12:34:56
                 -device virtio-blk-pci,addr=0x2,drive=d0
                 -device virtio-rng-pci,addr=0x3)
        DESC="riscv64, bookworm's qemu-system-riscv64 7.2 -M virt,aia=aplic-imsic under TCG, Debian's OpenSBI 1.1 fw_dynamic, the kernel of riscv64-virt-imsic-msix with the same three transitional virtio-pci devices (net 00:01.0 no backend, blk 00:02.0, rng 00:03.0): a real failure. virtio_pci (built in) acknowledges the three, then the boot stops after the console's 8250 is re-registered, before /init loads any virtio driver: this QEMU never delivers an IMSIC interrupt to this kernel. Each run is ended by timeout(1) after ${RUN_TIMEOUT}s" ;;
    riscv64-virt-pci)
        QEMU=qemu-system-riscv64; BASE_APPEND="console=ttyS0 ignore_loglevel panic=-1"
        # (-M virt,aia=aplic-imsic, for MSIs through the IMSIC, hangs this kernel under
        # OpenSBI 1.1, Debian's or QEMU's own, once the console's 8250 is re-registered:
        # its interrupt never comes; aia=aplic works: riscv64-virt-aplic-mixed)
        MACHINE=(-M virt -bios "$OPENSBI_DIR/fw_dynamic.bin")
        PCI_DEVICES
        DESC="riscv64, qemu-system-riscv64 -M virt (PLIC: no MSI controller, so PCI INTx) under TCG, OpenSBI fw_dynamic then the kernel (virtio_pci built in: its devices are probed during boot, before /init); transitional virtio-net-pci 00:01.0 (no backend), virtio-blk-pci 00:02.0 (1 MiB raw image), virtio-rng-pci 00:03.0 on the gpex PCIe host bridge" ;;
    *) die "unknown scenario: $1 (try --list)" ;;
    esac
}

qemu_package() {  # the package QEMU comes from: installed, or unpacked by fetch_host
    if [[ $QEMU = /* ]]; then
        echo "$(grep '^qemu-system-riscv ' "$QEMU10_ROOT/.packages") from bookworm-backports, unpacked in \$ARCH_CACHE, not installed"
    else
        dpkg-query -W -f '${Package} ${Version}' "$(dpkg -S "$(command -v "$QEMU")" | cut -d: -f1)"
    fi
}

versions_block() {
    cat <<EOF
- date (UTC): $(date -u +%Y-%m-%dT%H:%M:%SZ)
- host: $(. /etc/os-release && echo "$PRETTY_NAME"), $(uname -m); TCG
- \`$(basename "$QEMU") --version\`: $("$QEMU" --version | head -1) (package $(qemu_package))
- firmware: ${FIRMWARE_DESC:-$(case $QEMU in *riscv64) dpkg-query -W -f '${Package} ${Version}' opensbi ;; *) echo "none (QEMU loads the kernel)" ;; esac)}
- guest kernel \`uname -r\`: $KVER; guest packages (unpacked, not installed): $GUEST_PKGS
- busybox: $(grep -a -o -m1 'BusyBox v[0-9.]*[^ ]* ([^)]*)' "$GUEST_BUSYBOX" | head -1 || echo none)
- guest /init loads, with busybox insmod, in this order: $MODULE_LOAD_ORDER
EOF
}

# ---------------------------------------------------------------- U-Boot (UBOOT_STEPS and NET_ABORT: capture-samples.sh)

capture_uboot() {  # capture_uboot DIR SCENARIO: U-Boot is the guest, its console driven
    local dir=$1 sc=$2 base
    WATCH_KILL=""
    case "$sc" in
    riscv64-uboot-virtio)
        QEMU=qemu-system-riscv64
        base=(qemu-system-riscv64 -M virt -m 512M -nodefaults -no-user-config -display none
              -bios "$OPENSBI_DIR/fw_jump.bin" -kernel "$UBOOT_RISCV64"
              -serial stdio -monitor none
              -drive "if=none,id=d0,file=$DISK_IMG,format=raw"
              -device virtio-blk-device,drive=d0
              -device virtio-rng-device
              -drive "if=none,id=d1,file=$DISK2_IMG,format=raw"
              -device virtio-blk-pci,addr=0x1,drive=d1
              -device virtio-net-pci,addr=0x2,romfile=,mac=52:54:00:12:34:57)
        DESC="riscv64 U-Boot $(dpkg-query -W -f '${Version}' u-boot-qemu) (Debian u-boot-qemu, qemu-riscv64_smode/u-boot.bin) under OpenSBI fw_jump (opensbi $(dpkg-query -W -f '${Version}' opensbi)), -M virt, console driven with: virtio scan, virtio info, virtio device, dm tree, pci; virtio-blk-device + virtio-rng-device on virtio-mmio (force-legacy=on), transitional virtio-blk-pci 00:01.0 and virtio-net-pci 00:02.0 (no backend, romfile=) on the gpex bridge" ;;
    arm64-uboot-virtio)
        QEMU=qemu-system-aarch64
        base=(qemu-system-aarch64 -M virt -cpu max,pauth-impdef=on -m 512M -nodefaults
              -no-user-config -display none -bios "$UBOOT_ARM64"
              -serial stdio -monitor none
              -drive "if=none,id=d0,file=$DISK_IMG,format=raw"
              -device virtio-blk-device,drive=d0
              -device virtio-rng-device
              -drive "if=none,id=d1,file=$DISK2_IMG,format=raw"
              -device virtio-blk-pci,disable-legacy=on,addr=0x1,drive=d1
              -device virtio-net-pci,addr=0x2,romfile=,mac=52:54:00:12:34:57)
        DESC="arm64 U-Boot $(dpkg-query -W -f '${Version}' u-boot-qemu) (Debian u-boot-qemu, qemu_arm64/u-boot.bin as -bios), -M virt -cpu max, console driven with: virtio scan, virtio info, virtio device, dm tree, pci; virtio-blk-device + virtio-rng-device on virtio-mmio (force-legacy=on: 32 transports, 30 empty), modern-only virtio-blk-pci 00:01.0 (disable-legacy=on) and transitional virtio-net-pci 00:02.0 (no backend, romfile=) on the gpex bridge" ;;
    esac
    mkdir -p "$dir"
    local t=$DEFAULT_TIMEOUT
    log "$sc: run 1 (console.log + trace.log)"
    printf '%s\n' "$UBOOT_STEPS" | python3 "$HERE/console-drive.py" --abort "$NET_ABORT" \
        "$dir/console.raw" -- timeout "$t" "${base[@]}" -trace 'virtio_*' 2> "$dir/trace.log"
    tr -d '\r' < "$dir/console.raw" > "$dir/console.log"; rm -f "$dir/console.raw"
    log "$sc: run 2 (combined.log)"
    printf '%s\n' "$UBOOT_STEPS" | python3 "$HERE/console-drive.py" --stderr-too \
        --abort "$NET_ABORT" "$dir/combined.raw" -- timeout "$t" "${base[@]}" -msg timestamp=on -trace 'virtio_*'
    tr -d '\r' < "$dir/combined.raw" > "$dir/combined.log"; rm -f "$dir/combined.raw"
    local r=() a
    for a in timeout "$t" "${base[@]}"; do r+=("${a//$WORK/\$WORK}"); done
    RUN1_CMD="$(shquote "${r[@]}" -trace 'virtio_*') 2> \"\$OUT/trace.log\"   # stdout: console-drive.py -> console.log"
    RUN2_CMD="$(shquote "${r[@]}" -msg timestamp=on -trace 'virtio_*')   # stdout+stderr: console-drive.py --stderr-too -> combined.log"
    RUN1_HOW="driven by scripts/console-drive.py (steps below), ended by it with SIGTERM"
    RUN2_HOW=$RUN1_HOW
    KVER="(none: U-Boot is the guest)"; GUEST_PKGS="(none)"; GUEST_BUSYBOX=/bin/false
    MODULE_LOAD_ORDER="(none)"
    write_notes "$sc" "$dir"
    { echo; echo "Console steps (scripts/console-drive.py, one per line):"; echo; echo '```'
      printf '%s\n' "$UBOOT_STEPS"; echo '```'; } >> "$dir/NOTES.md.steps"
    if ! grep -q '^Console steps' "$dir/NOTES.md"; then cat "$dir/NOTES.md.steps" >> "$dir/NOTES.md"; fi
    rm -f "$dir/NOTES.md.steps"
}

main_arch() {
    if [ "${1:-}" = --list ]; then printf '%s\n' "${ALL_SCENARIOS[@]}"; exit 0; fi
    [ $# -gt 0 ] || set -- "${ALL_SCENARIOS[@]}"
    local s
    check_scenarios "$@"
    ensure_packages "$@"
    mkdir -p "$ARCH_CACHE"
    if printf '%s\n' "$@" | grep -qx riscv64-virt-imsic-msix; then
        fetch_host bookworm-backports qemu10 qemu-system-riscv; QEMU10_ROOT=$HOST_ROOT
        fetch_host trixie opensbi16 opensbi; OPENSBI16_ROOT=$HOST_ROOT
    fi
    make_work arch
    DISK_IMG="$WORK/disk.img"; truncate -s 1M "$DISK_IMG"
    DISK2_IMG="$WORK/disk2.img"; truncate -s 1M "$DISK2_IMG"
    CURRENT_ARCH=""
    for s in "$@"; do
        # QEMU's stdin is /dev/null: were it a regular file (a program that renamed its
        # output over /dev/null), its bytes would reach the guest's serial console
        [ -c /dev/null ] || die "/dev/null is not a character device: restore it (mknod -m 666 /dev/null c 1 3)"
        if [[ $s = *-uboot-virtio ]]; then
            capture_uboot "$SAMPLES_DIR/$s" "$s"
        else
            [ "$(guest_of "$s")" = "$CURRENT_ARCH" ] || prepare_arch "$(guest_of "$s")"
            capture "$s"
        fi
        [ -c /dev/null ] || die "/dev/null stopped being a character device during $s: restore it and capture $s again"
    done
}
# (sourced by scripts/capture-old.sh for its functions: then main_arch is not run)
[[ "${BASH_SOURCE[0]}" != "$0" ]] || main_arch "$@"
