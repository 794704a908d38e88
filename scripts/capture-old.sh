#!/usr/bin/env bash
# capture-old.sh - real QEMU + Linux virtio logs with the oldest Debian kernel that can be had
# here (Debian 11 "bullseye", Linux 5.10, on x86_64 and arm64) and on s390x (virtio-ccw, the
# channel-I/O transport, Debian 12 kernel).
#
# Usage: bash scripts/capture-old.sh [SCENARIO...]   |   --list
#
# Why 5.10 and not 3.x/4.x: Debian's 3.16 (jessie), 4.9 (stretch) and 4.19 (buster) kernels
# are only in Debian's archive of old releases, which this machine cannot reach (its host
# name does not resolve; deb.debian.org has no jessie/stretch/buster suites any more,
# 404). bullseye (oldoldstable) is the oldest release deb.debian.org still serves, and
# its newest kernel ABI is what this script boots.
#
# Everything comes from Debian's packages through the private apt configuration of
# scripts/capture-arch.sh (apt_private, fetch_guest: the .deb files are downloaded and
# unpacked under $ARCH_CACHE, never installed; apt checks them against the signed Release
# files of the suite, and the exact package versions go to each sample's NOTES.md):
#   x86_64: bullseye (with -security) linux-image-$OLD_KVER_AMD64, busybox-static
#   arm64:  bullseye 11.11 (main only) linux-image-$OLD_KVER_ARM64, busybox-static
#   s390x:         bookworm linux-image-$S390X_KVER, busybox-static
# The host's QEMU (Debian 12: qemu-system-x86 / -arm / -misc 7.2) runs them under TCG. The
# guest /init (scripts/capture-samples.sh build_initramfs) insmods the virtio modules of the
# kernel's own package (those built in are skipped), prints the sysfs dump and powers off.
# Each scenario boots twice (trace.log + console.log, then combined.log).
#
# Network safety: no NIC has a backend (no -netdev at all, -nodefaults), the guest
# configures no address and sends nothing; every run is bounded by timeout(1).

set -euo pipefail
OLD_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=capture-arch.sh
source "$OLD_HERE/capture-arch.sh"

ALL_SCENARIOS=(x86-linux510-multi x86-linux510-legacy-mixed arm64-linux510-pci s390x-ccw-virtio
               arm64-linux510-mmio)
OLD_KVER_AMD64=${OLD_KVER_AMD64:-5.10.0-46-amd64}
OLD_KVER_ARM64=${OLD_KVER_ARM64:-5.10.0-32-arm64}  # (bullseye 11.11: see apt_private)
S390X_KVER=${S390X_KVER:-6.1.0-50-s390x}  # (bookworm-security here serves no s390x list)
WANTED_MODULES+=(virtio_balloon virtio_ccw sd_mod)

# capture-arch.sh's apt_private, with an empty dpkg status of its own (for amd64, the host's
# architecture, apt would otherwise take the host's installed busybox-static, bookworm's, as
# the version to download and find no bullseye source for it), and one more kind of suite:
# "bullseye-point" is bullseye's main suite alone (its last point release), for arm64,
# whose bullseye-security .deb files this machine's mirror does not serve (404)
apt_private() {
    local suite=$1 arch=$2; shift 2
    local d="$ARCH_CACHE/apt-$suite-$arch"
    mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
    [ -f "$d/status" ] || : > "$d/status"
    local o="[arch=$arch signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]"
    case "$suite" in
    (*-point) printf 'deb %s http://deb.debian.org/debian %s main\n' "$o" "${suite%-point}" > "$d/sources.list" ;;
    (*-*) printf 'deb %s http://deb.debian.org/debian %s main\n' "$o" "$suite" > "$d/sources.list" ;;
    (*) printf 'deb %s http://deb.debian.org/debian %s main\n' "$o" "$suite" "$o" "$suite-updates" > "$d/sources.list"
        printf 'deb %s http://deb.debian.org/debian-security %s-security main\n' "$o" "$suite" >> "$d/sources.list" ;;
    esac
    apt-get -o Dir::Etc::SourceList="$d/sources.list" -o Dir::Etc::SourceParts=/dev/null \
        -o Dir::State::Lists="$d/lists" -o Dir::Cache="$d/cache" -o Dir::State::status="$d/status" \
        -o APT::Architectures::="$arch" -o APT::Sandbox::User=root "$@"
}

# six kinds of device on one PCI bus (slots 3-8): net (no backend), blk, rng, a
# virtio-serial with one console port (backend: a null chardev), scsi with one disk, balloon.
# $1: extra properties for every device ("" transitional, QEMU's default)
SIX_PCI() {
    local p=$1
    DEVICES=(-drive "if=none,id=d0,file=$DISK_IMG,format=raw"
             -drive "if=none,id=d1,file=$DISK2_IMG,format=raw"
             -chardev null,id=vc0
             -device "virtio-net-pci${p},addr=0x3,romfile=,mac=52:54:00:12:34:56"
             -device "virtio-blk-pci${p},addr=0x4,drive=d0"
             -device "virtio-rng-pci${p},addr=0x5"
             -device "virtio-serial-pci${p},addr=0x6" -device virtconsole,chardev=vc0
             -device "virtio-scsi-pci${p},id=scsi0,addr=0x7" -device scsi-hd,drive=d1,bus=scsi0.0
             -device "virtio-balloon-pci${p},addr=0x8")
}

scenario_setup() {
    DEVICES=(); APPEND=""; WATCH_KILL=""; RUN_TIMEOUT=$DEFAULT_TIMEOUT; FIRMWARE_DESC=""
    case "$1" in
    x86-linux510-multi)
        QEMU=qemu-system-x86_64; BASE_APPEND="console=ttyS0 ignore_loglevel panic=-1"
        MACHINE=(-M pc); FIRMWARE_DESC="SeaBIOS (QEMU's bios-256k.bin, package seabios $(dpkg-query -W -f '${Version}' seabios))"
        SIX_PCI ""
        DESC="x86_64, qemu-system-x86_64 -M pc under TCG, Debian 11 kernel $KVER (Linux 5.10); six transitional virtio PCI devices (QEMU's default, 1af4:1000-1005 with modern capabilities), driven as modern: virtio-net-pci 00:03.0 (no backend, romfile=), virtio-blk-pci 00:04.0 (1 MiB raw image), virtio-rng-pci 00:05.0, virtio-serial-pci 00:06.0 with one virtconsole port (null chardev), virtio-scsi-pci 00:07.0 with one scsi-hd (1 MiB raw image), virtio-balloon-pci 00:08.0" ;;
    x86-linux510-legacy-mixed)
        QEMU=qemu-system-x86_64; BASE_APPEND="console=ttyS0 ignore_loglevel panic=-1"
        MACHINE=(-M pc); FIRMWARE_DESC="SeaBIOS (QEMU's bios-256k.bin, package seabios $(dpkg-query -W -f '${Version}' seabios))"
        SIX_PCI ",disable-modern=on"
        # the rng modern-only instead: both interfaces of virtio_pci in one boot
        DEVICES=("${DEVICES[@]/virtio-rng-pci,disable-modern=on/virtio-rng-pci,disable-legacy=on}")
        DESC="x86_64, qemu-system-x86_64 -M pc under TCG, Debian 11 kernel $KVER (Linux 5.10); five legacy-only virtio PCI devices (disable-modern=on: 0.9.5 interface, I/O BAR only) and one modern-only: virtio-net-pci 00:03.0 (legacy, no backend, romfile=), virtio-blk-pci 00:04.0 (legacy, 1 MiB raw image), virtio-rng-pci 00:05.0 (modern-only, disable-legacy=on, 1af4:1044), virtio-serial-pci 00:06.0 (legacy) with one virtconsole port (null chardev), virtio-scsi-pci 00:07.0 (legacy) with one scsi-hd (1 MiB raw image), virtio-balloon-pci 00:08.0 (legacy)" ;;
    arm64-linux510-pci)
        QEMU=qemu-system-aarch64; BASE_APPEND="console=ttyAMA0 ignore_loglevel panic=-1"
        MACHINE=(-M virt,gic-version=3 -cpu max,pauth-impdef=on)
        SIX_PCI ""
        DESC="arm64, qemu-system-aarch64 -M virt,gic-version=3 (MSI-X through the GICv3 ITS) -cpu max under TCG, no firmware, Debian 11 kernel $KVER (Linux 5.10); six transitional virtio PCI devices on the gpex PCIe host bridge, driven as modern: virtio-net-pci 00:03.0 (no backend, romfile=), virtio-blk-pci 00:04.0 (1 MiB raw image), virtio-rng-pci 00:05.0, virtio-serial-pci 00:06.0 with one virtconsole port (null chardev), virtio-scsi-pci 00:07.0 with one scsi-hd (1 MiB raw image), virtio-balloon-pci 00:08.0; the 32 virtio-mmio transports of the machine empty" ;;
    arm64-linux510-mmio)
        QEMU=qemu-system-aarch64; BASE_APPEND="console=ttyAMA0 ignore_loglevel panic=-1"
        MACHINE=(-M virt -cpu max,pauth-impdef=on)
        DEVICES=(-drive "if=none,id=d0,file=$DISK_IMG,format=raw"
                 -drive "if=none,id=d1,file=$DISK2_IMG,format=raw"
                 -chardev null,id=vc0
                 -device virtio-net-device,mac=52:54:00:12:34:56
                 -device virtio-blk-device,drive=d0
                 -device virtio-rng-device
                 -device virtio-serial-device -device virtconsole,chardev=vc0
                 -device virtio-scsi-device,id=scsi0 -device scsi-hd,drive=d1,bus=scsi0.0
                 -device virtio-balloon-device)
        DESC="arm64, qemu-system-aarch64 -M virt (GICv2) -cpu max under TCG, no firmware, Debian 11 kernel $KVER (Linux 5.10); six devices on the machine's virtio-mmio transports (QEMU default force-legacy=on: MagicValue 'virt', Version 1, the legacy interface): virtio-net-device (no backend), virtio-blk-device (1 MiB raw image), virtio-rng-device, virtio-serial-device with one virtconsole port (null chardev), virtio-scsi-device with one scsi-hd (1 MiB raw image), virtio-balloon-device; the other 26 transports empty" ;;
    s390x-ccw-virtio)
        QEMU=qemu-system-s390x; BASE_APPEND="console=ttysclp0 ignore_loglevel panic=-1"
        # the machine's serial_hd(0) is its SCLP console (ttysclp0)
        MACHINE=(-M s390-ccw-virtio -cpu max)
        FIRMWARE_DESC="none (QEMU loads the kernel with -kernel; its s390-ccw.img BIOS is not used)"
        DEVICES=(-drive "if=none,id=d0,file=$DISK_IMG,format=raw"
                 -drive "if=none,id=d1,file=$DISK2_IMG,format=raw"
                 -device virtio-net-ccw,devno=fe.0.0001,mac=52:54:00:12:34:56
                 -device virtio-blk-ccw,devno=fe.0.0002,drive=d0
                 -device virtio-rng-ccw,devno=fe.0.0003
                 -device virtio-scsi-ccw,id=scsi0,devno=fe.0.0004 -device scsi-hd,drive=d1,bus=scsi0.0
                 -device virtio-balloon-ccw,devno=fe.0.0005)
        DESC="s390x, qemu-system-s390x -M s390-ccw-virtio -cpu max under TCG, the kernel loaded by QEMU (-kernel), Debian 12 kernel $KVER; five virtio-ccw devices (channel-I/O transport, subchannels on css fe): virtio-net-ccw 0.0.0001 (no backend), virtio-blk-ccw 0.0.0002 (1 MiB raw image), virtio-rng-ccw 0.0.0003, virtio-scsi-ccw 0.0.0004 with one scsi-hd (1 MiB raw image), virtio-balloon-ccw 0.0.0005; the console is the SCLP line-mode console (ttysclp0)" ;;
    *) die "unknown scenario: $1 (try --list)" ;;
    esac
}

guest_of() { case "$1" in (x86-*) echo amd64-old ;; (arm64-*) echo arm64-old ;; (s390x-*) echo s390x ;; esac; }

prepare_arch() {  # prepare_arch GUEST (guest_of): kernel + initramfs of that arch in $WORK
    case "$1" in
        amd64-old) fetch_guest bullseye amd64 "$OLD_KVER_AMD64" ;;
        arm64-old) fetch_guest bullseye-point arm64 "$OLD_KVER_ARM64" ;;
        s390x) fetch_guest bookworm s390x "$S390X_KVER" ;;
    esac
    guest_ready "$1"  # capture-arch.sh
}

qemu_package() { dpkg-query -W -f '${Package} ${Version}' "$(dpkg -S "$(command -v "$QEMU")" | cut -d: -f1)"; }

main_old() {
    if [ "${1:-}" = --list ]; then printf '%s\n' "${ALL_SCENARIOS[@]}"; exit 0; fi
    [ $# -gt 0 ] || set -- "${ALL_SCENARIOS[@]}"
    local s need=()
    check_scenarios "$@"
    command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
    command -v qemu-system-aarch64 >/dev/null 2>&1 || need+=(qemu-system-arm)
    command -v qemu-system-s390x >/dev/null 2>&1 || need+=(qemu-system-misc)
    have_pkg busybox-static || need+=(busybox-static)
    for s in cpio:cpio depmod:kmod xz:xz-utils zstd:zstd dpkg-deb:dpkg; do
        command -v "${s%%:*}" >/dev/null 2>&1 || need+=("${s#*:}")
    done
    install_missing "${need[@]}"
    mkdir -p "$ARCH_CACHE"
    make_work old
    DISK_IMG="$WORK/disk.img"; truncate -s 1M "$DISK_IMG"
    DISK2_IMG="$WORK/disk2.img"; truncate -s 1M "$DISK2_IMG"
    CURRENT_ARCH=""
    for s in "$@"; do
        [ -c /dev/null ] || die "/dev/null is not a character device: restore it (mknod -m 666 /dev/null c 1 3)"
        [ "$(guest_of "$s")" = "$CURRENT_ARCH" ] || prepare_arch "$(guest_of "$s")"
        capture "$s"
    done
}
main_old "$@"
