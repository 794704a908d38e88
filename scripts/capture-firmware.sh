#!/usr/bin/env bash
# capture-firmware.sh - real firmware virtio logs (SeaBIOS debug console, U-Boot
# console) with QEMU's -trace 'virtio_*', for the seabios and uboot dialects.
#
# Usage: bash scripts/capture-firmware.sh [SCENARIO...]   |   --list
#
# No guest kernel: the firmware is the guest. Each scenario runs QEMU twice:
#   run 1: firmware log -> its own file, -trace 'virtio_*' -> stderr -> trace.log
#   run 2: firmware log and the trace on ONE fd, -msg timestamp=on -> combined.log
# and (re)writes the generated block of samples/<scenario>/NOTES.md (the rest of
# NOTES.md and the tests are written by a person from reading the logs).
#
# Network safety: no NIC has a backend (no -netdev at all) and none has an option ROM
# (romfile=, so no iPXE); U-Boot's autoboot (whose boot_targets end in "dhcp") is
# stopped at its count-down, and scripts/console-drive.py kills QEMU at once if a
# network boot ever starts (BOOTP/DHCP/TFTP/PXE printed). Every run is bounded by
# timeout(1). U-Boot is only sent virtio/dm/pci listing commands.

set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# For shquote and splice_generated (its main does not run when sourced); the settings
# and functions below replace the ones it defines for kernel guests.
# shellcheck source=capture-samples.sh
source "$HERE/capture-samples.sh"
UBOOT_ROM=${UBOOT_ROM:-/usr/lib/u-boot/qemu-x86_64/u-boot.rom}
SEABIOS_TIMEOUT=${SEABIOS_TIMEOUT:-12}
UBOOT_TIMEOUT=${UBOOT_TIMEOUT:-60}
ALL_SCENARIOS=(seabios-virtio-pci uboot-virtio-pci)

log() { printf 'capture-firmware: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

ensure_packages() {
    local need=()
    command -v "$QEMU" >/dev/null 2>&1 || need+=(qemu-system-x86)
    [ -f /usr/share/seabios/bios-256k.bin ] || need+=(seabios)
    [ -f "$UBOOT_ROM" ] || need+=(u-boot-qemu)
    command -v python3 >/dev/null 2>&1 || need+=(python3)
    install_missing "${need[@]}"
}

# Disks: 1 MiB of zeros each (not bootable: SeaBIOS ends at "No bootable device.").
make_disks() { local i; for i in 0 1 2 3; do truncate -s 1M "$WORK/disk$i.img"; done; }

seabios_devices() {
    DEVICES=(-drive "if=none,id=d0,file=$WORK/disk0.img,format=raw"
             -device virtio-blk-pci,drive=d0,addr=0x3
             -drive "if=none,id=d1,file=$WORK/disk1.img,format=raw"
             -device virtio-blk-pci,drive=d1,addr=0x4,disable-legacy=on
             -drive "if=none,id=d2,file=$WORK/disk2.img,format=raw"
             -device virtio-blk-pci,drive=d2,addr=0x5,disable-modern=on
             -device virtio-scsi-pci,id=scsi0,addr=0x6
             -drive "if=none,id=d3,file=$WORK/disk3.img,format=raw"
             -device scsi-hd,drive=d3,bus=scsi0.0
             -device virtio-scsi-pci,id=scsi1,addr=0x7,disable-legacy=on
             -device virtio-net-pci,addr=0x8,romfile=,mac=52:54:00:12:34:56
             -device virtio-net-pci,addr=0x9,romfile=,disable-legacy=on,mac=52:54:00:12:34:57)
    DESC="SeaBIOS 1.16.2 (Debian bios-256k.bin, QEMU's default for -M pc) debug log on isa-debugcon 0x402: virtio-blk-pci transitional 00:03.0, modern-only (disable-legacy=on) 00:04.0, legacy-only (disable-modern=on) 00:05.0; virtio-scsi-pci transitional 00:06.0 with one scsi-hd, modern-only 00:07.0 with no disk; virtio-net-pci transitional 00:08.0 and modern-only 00:09.0 (no backend, romfile= so no iPXE: SeaBIOS has no virtio-net driver)"
}

uboot_devices() {
    DEVICES=(-drive "if=none,id=d0,file=$WORK/disk0.img,format=raw"
             -device virtio-blk-pci,drive=d0,addr=0x3
             -drive "if=none,id=d1,file=$WORK/disk1.img,format=raw"
             -device virtio-blk-pci,drive=d1,addr=0x4,disable-legacy=on
             -device virtio-net-pci,addr=0x5,romfile=,mac=52:54:00:12:34:56
             -device virtio-net-pci,addr=0x6,romfile=,disable-legacy=on,mac=52:54:00:12:34:57)
    DESC="U-Boot 2023.01 (Debian u-boot-qemu, qemu-x86_64/u-boot.rom) on -M q35, console on the serial port, driven with: virtio scan, virtio info, virtio device, dm tree, pci; virtio-blk-pci transitional 00:03.0 and modern-only 00:04.0, virtio-net-pci transitional 00:05.0 and modern-only 00:06.0 (no backend, romfile=)"
}



capture_seabios() {  # capture_seabios DIR
    local dir=$1 base=(-nodefaults -display none -M pc -m 256M -serial none -monitor none)
    seabios_devices
    CMD1=(timeout "$SEABIOS_TIMEOUT" "$QEMU" "${base[@]}"
          -chardev "file,id=dbg,path=$dir/seabios.log" -device isa-debugcon,iobase=0x402,chardev=dbg
          "${DEVICES[@]}" -trace 'virtio_*')
    "${CMD1[@]}" 2> "$dir/trace.log" || [ $? -eq 124 ]
    CMD2=(timeout "$SEABIOS_TIMEOUT" "$QEMU" "${base[@]}" -msg timestamp=on
          -chardev stdio,id=dbg -device isa-debugcon,iobase=0x402,chardev=dbg
          "${DEVICES[@]}" -trace 'virtio_*')
    "${CMD2[@]}" > "$dir/combined.log" 2>&1 < /dev/null || [ $? -eq 124 ]
    REDIR1="2> trace.log   (debug log: seabios.log)"; REDIR2="> combined.log 2>&1 < /dev/null"
}

capture_uboot() {  # capture_uboot DIR
    local dir=$1 base=(-nodefaults -display none -M q35 -m 512M -bios "$UBOOT_ROM"
                       -serial stdio -monitor none)
    uboot_devices
    CMD1=(timeout "$UBOOT_TIMEOUT" "$QEMU" "${base[@]}" "${DEVICES[@]}" -trace 'virtio_*')
    printf '%s\n' "$UBOOT_STEPS" | python3 "$HERE/console-drive.py" --abort "$NET_ABORT" \
        "$dir/console.raw" -- "${CMD1[@]}" 2> "$dir/trace.log"
    tr -d '\r' < "$dir/console.raw" > "$dir/console.log"; rm -f "$dir/console.raw"
    CMD2=(timeout "$UBOOT_TIMEOUT" "$QEMU" "${base[@]}" -msg timestamp=on "${DEVICES[@]}"
          -trace 'virtio_*')
    printf '%s\n' "$UBOOT_STEPS" | python3 "$HERE/console-drive.py" --stderr-too \
        --abort "$NET_ABORT" "$dir/combined.raw" -- "${CMD2[@]}"
    tr -d '\r' < "$dir/combined.raw" > "$dir/combined.log"; rm -f "$dir/combined.raw"
    REDIR1="console (stdio) -> console.log via scripts/console-drive.py, 2> trace.log"
    REDIR2="stdout+stderr -> combined.log via scripts/console-drive.py --stderr-too"
}

write_notes() {  # write_notes SCENARIO DIR
    local notes="$2/NOTES.md" gen
    gen=$(mktemp)
    {
        echo "<!-- BEGIN GENERATED by scripts/capture-firmware.sh: do not edit inside this block -->"
        echo "Scenario \`$1\`: $DESC"
        echo
        echo "Run 1 ($REDIR1):"
        echo
        echo '```'; { shquote "${CMD1[@]}"; echo; } | sed "s#$WORK#\$WORK#g; s#$2#\$OUT#g"; echo '```'
        echo
        echo "Run 2 ($REDIR2):"
        echo
        echo '```'; { shquote "${CMD2[@]}"; echo; } | sed "s#$WORK#\$WORK#g; s#$2#\$OUT#g"; echo '```'
        echo
        echo "(\`\$WORK\` is a mktemp -d directory holding the disk images; \`\$OUT\` is \`samples/$1\`.)"
        echo
        [ "$1" = uboot-virtio-pci ] && { echo "Console steps (scripts/console-drive.py, one per line):"; echo; echo '```'; printf '%s\n' "$UBOOT_STEPS"; echo '```'; echo; }
        echo "Versions: $("$QEMU" --version | head -1);" \
             "$(dpkg-query -W -f '${Package} ${Version}' seabios 2>/dev/null);" \
             "$(dpkg-query -W -f '${Package} ${Version}' u-boot-qemu 2>/dev/null); TCG."
        echo "<!-- END GENERATED -->"
    } > "$gen"
    if ! splice_generated "$notes" "$gen"; then
        { echo "# $1"; echo; echo "(hand-written diagnosis goes here)"; echo; cat "$gen"; } > "$notes"
    fi
    rm -f "$gen"
}

main() {
    if [ "${1:-}" = --list ]; then printf '%s\n' "${ALL_SCENARIOS[@]}"; exit 0; fi
    [ $# -gt 0 ] || set -- "${ALL_SCENARIOS[@]}"
    ensure_packages
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/virtiodiag-fw.XXXXXX")
    trap 'rm -rf "$WORK"' EXIT
    make_disks
    local s dir
    for s in "$@"; do
        dir="$SAMPLES_DIR/$s"; mkdir -p "$dir"
        log "capturing $s"
        case "$s" in
        seabios-*) capture_seabios "$dir" ;;
        uboot-*) capture_uboot "$dir" ;;
        *) die "unknown scenario: $s (try --list)" ;;
        esac
        write_notes "$s" "$dir"
    done
}
main "$@"
