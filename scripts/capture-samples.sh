#!/usr/bin/env bash
# capture-samples.sh - regenerate samples/ with real QEMU + Linux virtio logs.
#
# Usage: bash scripts/capture-samples.sh [scenario...]
#        bash scripts/capture-samples.sh --list
#
# Runs on a Debian 12 machine (root, or sudo for apt-get). For every scenario
# it boots Debian's own kernel (linux-image-amd64) under QEMU/TCG with a tiny
# busybox initramfs twice:
#   run 1: -trace 'virtio_*' -> stderr -> trace.log; guest serial -> console.log
#   run 2: -msg timestamp=on, guest serial on stdio, stdout+stderr -> ONE fd
#          -> combined.log (interleaving left exactly as it happened)
# and (re)writes the generated block of samples/<scenario>/NOTES.md.
# samples/<scenario>/expected.json and the hand-written parts of NOTES.md are
# NOT touched: they are written by a person from reading the logs. After a
# re-capture, the vdev pointers (ASLR) in expected.json must be updated by hand.
#
# Network safety: no virtio NIC gets a backend (no -netdev at all), the guest
# configures no address and sends nothing; -nodefaults removes the default NIC.

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
SAMPLES_DIR=${SAMPLES_DIR:-$REPO_DIR/samples}
QEMU=${QEMU:-qemu-system-x86_64}
RUN_TIMEOUT=${RUN_TIMEOUT:-90}

ALL_SCENARIOS=(modern-pci legacy-pci transitional-pci transitional-force-legacy
               intx-pci multi-device microvm-mmio-legacy microvm-mmio-modern
               no-net-driver cutoff-mid-init)

log() { printf 'capture-samples: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- packages
have_pkg() { dpkg-query -W -f '${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

ensure_packages() {
    local need=()
    command -v "$QEMU" >/dev/null 2>&1 || need+=(qemu-system-x86)
    # busybox-static provides a statically linked /bin/busybox (the plain
    # busybox package is dynamic and would not run in the initramfs)
    have_pkg busybox-static || need+=(busybox-static)
    command -v cpio >/dev/null 2>&1 || need+=(cpio)
    command -v modinfo >/dev/null 2>&1 || need+=(kmod)
    command -v xz >/dev/null 2>&1 || need+=(xz-utils)
    command -v zstd >/dev/null 2>&1 || need+=(zstd)
    command -v gzip >/dev/null 2>&1 || need+=(gzip)
    command -v timeout >/dev/null 2>&1 || need+=(coreutils)
    command -v pgrep >/dev/null 2>&1 || need+=(procps)
    { have_pkg linux-image-amd64 && ls /boot/vmlinuz-* >/dev/null 2>&1; } || need+=(linux-image-amd64)
    install_missing "${need[@]}"
}

install_missing() {  # install_missing PACKAGE...: apt-get install them (as root, or sudo)
    [ $# -gt 0 ] || return 0
    log "installing: $*"
    local SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >&2
}

# U-Boot driven on its console (capture-firmware.sh, capture-arch.sh): the steps
# scripts/console-drive.py follows, and what kills QEMU at once (a network boot).
UBOOT_STEPS='expect Hit any key to stop autoboot
key  
expect =>
send virtio scan
expect =>
send virtio info
expect =>
send virtio device
expect =>
send dm tree
expect =>
send pci
expect =>'
NET_ABORT='BOOTP|DHCP|TFTP|PXE|DHCPv6|Waiting for Ethernet'

# ---------------------------------------------------------------- kernel
# KERNEL_FLAVOUR: the Debian flavour to boot, "amd64" (default, the generic
# linux-image-amd64 build), "cloud-amd64", "rt-amd64". Without it, an installed
# cloud or rt kernel would sort after 6.1.0-N-amd64 and be picked instead.
KERNEL_FLAVOUR=${KERNEL_FLAVOUR:-amd64}
pick_kernel() {
    # newest installed Debian kernel of $KERNEL_FLAVOUR with a matching modules tree
    local k v
    for k in $(ls -1 /boot/vmlinuz-* | sort -V -r); do
        v=${k#/boot/vmlinuz-}
        [[ $v =~ ^[0-9.]+-[0-9]+-${KERNEL_FLAVOUR}$ ]] || continue
        if [ -d "/lib/modules/$v" ]; then
            KERNEL_IMG=$k; KVER=$v; return 0
        fi
    done
    die "no /boot/vmlinuz-*-$KERNEL_FLAVOUR with a matching /lib/modules tree"
}

# ---------------------------------------------------------------- initramfs
# modules wanted by the guest (module names); dependencies are added first
WANTED_MODULES=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev
                virtio_pci virtio_mmio failover net_failover virtio_net
                virtio_blk virtio_rng virtio_console)
MODULE_ORDER=()
declare -A MOD_SEEN=()

add_module() {  # add_module NAME: depth-first, dependencies first
    local m=${1//-/_} dep deps
    [ -n "${MOD_SEEN[$m]:-}" ] && return 0
    MOD_SEEN[$m]=1
    local f
    f=$(modinfo ${MODINFO_BASE:+-b "$MODINFO_BASE"} -k "$KVER" -n "$m" 2>/dev/null) || { log "module $m: not found, skipped"; return 0; }
    case "$f" in
        (builtin|*"(builtin)"*|"") log "module $m: built into the kernel, skipped"; return 0 ;;
    esac
    deps=$(modinfo ${MODINFO_BASE:+-b "$MODINFO_BASE"} -k "$KVER" -F depends "$m" 2>/dev/null || true)
    for dep in ${deps//,/ }; do add_module "$dep"; done
    MODULE_ORDER+=("$m:$f")
}

build_initramfs() {  # build_initramfs OUT.cpio.gz
    local out=$1 root
    root=$(mktemp -d "$WORK/initramfs.XXXXXX")
    mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,root,usr/bin,usr/sbin,"lib/modules/$KVER"}
    # GUEST_BUSYBOX: a static busybox of another architecture (capture-arch.sh); the
    # applet list comes from the host's busybox, which must run here
    cp "${GUEST_BUSYBOX:-/bin/busybox}" "$root/bin/busybox"
    local app
    for app in $(/bin/busybox --list); do
        [ -e "$root/bin/$app" ] || ln -s busybox "$root/bin/$app"
    done
    local m entry f name rel dst
    for m in "${WANTED_MODULES[@]}"; do add_module "$m"; done
    : > "$root/etc/virtiodiag-modules"
    for entry in "${MODULE_ORDER[@]}"; do
        name=${entry%%:*}; f=${entry#*:}
        rel=${f#"${MODINFO_BASE:-}"/lib/modules/$KVER/}
        dst="$root/lib/modules/$KVER/${rel%.xz}"; dst=${dst%.zst}; dst=${dst%.gz}
        mkdir -p "$(dirname "$dst")"
        case "$f" in
            (*.ko.xz)  xz -dc "$f" > "$dst" ;;
            (*.ko.zst) zstd -qdc "$f" > "$dst" ;;
            (*.ko.gz)  gzip -dc "$f" > "$dst" ;;
            (*)        cp "$f" "$dst" ;;
        esac
        echo "$name /lib/modules/$KVER/${dst#"$root/lib/modules/$KVER/"}" >> "$root/etc/virtiodiag-modules"
    done
    cat > "$root/init" <<'EOF'
#!/bin/sh
# virtiodiag sample guest: load virtio modules, print what the kernel knows.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
CMDLINE=$(cat /proc/cmdline)
say() { echo "virtiodiag-init: $*"; }
say "kernel $(uname -r), cmdline: $CMDLINE"
# insmod (unlike modprobe) does not apply MODULE.PARAM=VALUE from the kernel
# command line, so do it here the way modprobe would.
modparams() {
    for w in $CMDLINE; do
        case "$w" in "$1".*=*) printf '%s ' "${w#"$1".}" ;; esac
    done
}
while read -r name path; do
    p=$(modparams "$name")
    # "loading... ok" style: the line stays open while insmod runs, so in a
    # shared-fd capture QEMU trace lines land in the middle of it
    printf 'virtiodiag-init: insmod %s %s... ' "$path" "$p"
    if insmod "$path" $p; then echo ok; else echo "FAILED (rc=$?)"; fi
done < /etc/virtiodiag-modules
sleep 1
echo "=== virtiodiag: /sys/bus/virtio/devices/*/{status,features,device,vendor} ==="
grep -H . /sys/bus/virtio/devices/*/status /sys/bus/virtio/devices/*/features \
          /sys/bus/virtio/devices/*/device /sys/bus/virtio/devices/*/vendor
echo "=== virtiodiag: ls -l /sys/bus/virtio/devices/ ==="
ls -l /sys/bus/virtio/devices/
echo "=== virtiodiag: virtio drivers bound ==="
for d in /sys/bus/virtio/devices/*; do
    [ -e "$d" ] || continue
    drv=none; [ -e "$d/driver" ] && drv=$(basename "$(readlink "$d/driver")")
    echo "${d##*/}: driver=$drv"
done
echo "=== virtiodiag: PCI functions of vendor 0x1af4 ==="
for p in /sys/bus/pci/devices/*; do
    [ -e "$p/vendor" ] || continue
    [ "$(cat "$p/vendor")" = "0x1af4" ] || continue
    drv=none; [ -e "$p/driver" ] && drv=$(basename "$(readlink "$p/driver")")
    echo "${p##*/}: vendor=$(cat "$p/vendor") device=$(cat "$p/device") subsystem_device=$(cat "$p/subsystem_device") revision=$(cat "$p/revision") irq=$(cat "$p/irq") driver=$drv"
done
echo "=== virtiodiag: /proc/iomem (virtio / LNRO0005) ==="
grep -i -e virtio -e LNRO /proc/iomem
echo "=== virtiodiag: /proc/interrupts (virtio) ==="
head -1 /proc/interrupts
grep -i virtio /proc/interrupts
echo "=== virtiodiag: ip link ==="
ip link
echo "=== virtiodiag: done, powering off ==="
poweroff -f
EOF
    chmod 755 "$root/init"
    (cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) | gzip -9 > "$out"
    MODULE_LOAD_ORDER=$(awk '{print $1}' "$root/etc/virtiodiag-modules" | paste -sd' ')
}

# ---------------------------------------------------------------- scenarios
# microvm under TCG: no PIT speaker gate / HPET / PM timer, so Linux cannot
# calibrate the TSC and hangs right after "tsc: Marking TSC unstable due to
# could not calculate TSC khz" (seen with 6.1 + QEMU 7.2, also with
# pit=on,pic=on,rtc=on). Telling it the TSC rate makes it boot.
MICROVM_APPEND="tsc_early_khz=2000000"

# Each scenario sets: MACHINE (array), DEVICES (array), APPEND (kernel extra),
# DESC (one line), WATCH_KILL (regex or empty).
scenario_setup() {
    MACHINE=(-M pc)
    DEVICES=()
    APPEND=""
    WATCH_KILL=""
    case "$1" in
    modern-pci)
        DEVICES=(-device virtio-net-pci,disable-legacy=on,mac=52:54:00:12:34:56)
        DESC="one modern-only virtio-net-pci (disable-legacy=on, PCI id 1af4:1041), no backend" ;;
    legacy-pci)
        DEVICES=(-device virtio-net-pci,disable-modern=on,mac=52:54:00:12:34:56)
        DESC="one legacy-only virtio-net-pci (disable-modern=on, PCI id 1af4:1000), no backend" ;;
    transitional-pci)
        DEVICES=(-device virtio-net-pci,mac=52:54:00:12:34:56)
        DESC="one transitional virtio-net-pci (QEMU default, PCI id 1af4:1000 with modern capabilities), no backend; Linux drives it as modern" ;;
    transitional-force-legacy)
        DEVICES=(-device virtio-net-pci,mac=52:54:00:12:34:56)
        APPEND="virtio_pci.force_legacy=1"
        DESC="transitional virtio-net-pci, guest forced to the legacy interface with virtio_pci.force_legacy=1 (the guest /init passes it to 'insmod virtio_pci.ko force_legacy=1', as modprobe would)" ;;
    intx-pci)
        DEVICES=(-device virtio-net-pci,disable-legacy=on,vectors=0,mac=52:54:00:12:34:56)
        DESC="modern-only virtio-net-pci with vectors=0 (no MSI-X table, the guest falls back to INTx), no backend" ;;
    multi-device)
        DEVICES=(-drive "if=none,id=d0,file=$DISK_IMG,format=raw"
                 -device virtio-net-pci,addr=0x3,mac=52:54:00:12:34:56
                 -device virtio-blk-pci,addr=0x4,drive=d0
                 -device virtio-rng-pci,addr=0x5
                 -device virtio-serial-pci,addr=0x6)
        DESC="four transitional virtio PCI devices at once: net (00:03.0, no backend), blk (00:04.0, 1 MiB raw image), rng (00:05.0), serial/console (00:06.0, no ports)" ;;
    microvm-mmio-legacy)
        MACHINE=(-M microvm)
        DEVICES=(-drive "if=none,id=d0,file=$DISK_IMG,format=raw"
                 -device virtio-net-device,mac=52:54:00:12:34:56
                 -device virtio-blk-device,drive=d0)
        APPEND="$MICROVM_APPEND"
        DESC="microvm machine, virtio-net-device + virtio-blk-device on virtio-mmio transports, QEMU default force-legacy=on (MagicValue 'virt', Version 1)" ;;
    microvm-mmio-modern)
        MACHINE=(-M microvm -global virtio-mmio.force-legacy=false)
        DEVICES=(-drive "if=none,id=d0,file=$DISK_IMG,format=raw"
                 -device virtio-net-device,mac=52:54:00:12:34:56
                 -device virtio-blk-device,drive=d0)
        APPEND="$MICROVM_APPEND"
        DESC="microvm machine, virtio-net-device + virtio-blk-device on virtio-mmio transports with -global virtio-mmio.force-legacy=false (Version 2, virtio 1.0)" ;;
    no-net-driver)
        DEVICES=(-device virtio-net-pci,disable-legacy=on,mac=52:54:00:12:34:56)
        APPEND="module_blacklist=virtio_net"
        DESC="modern-only virtio-net-pci; virtio_pci is loaded but the virtio_net driver is refused by the kernel (module_blacklist=virtio_net), so the device is enumerated and acknowledged but never driven" ;;
    cutoff-mid-init)
        DEVICES=(-device virtio-net-pci,disable-legacy=on,mac=52:54:00:12:34:56)
        WATCH_KILL='virtio_set_status vdev 0x[0-9a-f]+ val 11$'
        DESC="as modern-pci, but QEMU is stopped (SIGSTOP) then killed (SIGKILL) by a watcher on its stderr as soon as the first 'virtio_set_status ... val 11' (FEATURES_OK) line appears, i.e. before DRIVER_OK" ;;
    *) die "unknown scenario: $1 (try --list)" ;;
    esac
}

# Replace the generated block of an existing NOTES.md (between the BEGIN GENERATED and
# END GENERATED lines) by the file GEN; the hand-written rest stays. Fails (status 1)
# when NOTES has no such block yet, for the caller to write a new file.
splice_generated() {  # splice_generated NOTES GEN
    [ -f "$1" ] && grep -q '^<!-- BEGIN GENERATED' "$1" || return 1
    awk -v genfile="$2" '
        /^<!-- BEGIN GENERATED/ { while ((getline l < genfile) > 0) print l; skip=1; next }
        /^<!-- END GENERATED/ { skip=0; next }
        !skip { print }' "$1" > "$1.tmp"
    mv "$1.tmp" "$1"
}

# quote an argv for NOTES.md
# (plain when safe, else in double quotes: $WORK and $OUT stay expandable)
shquote() {
    local a out=""
    for a in "$@"; do
        if [[ $a =~ ^[A-Za-z0-9_./:=,@+-]+$ ]]; then out+="$a "
        else a=${a//\\/\\\\}; a=${a//\"/\\\"}; a=${a//\`/\\\`}; out+="\"$a\" "; fi
    done
    printf '%s' "${out% }"
}

# Run QEMU; stderr (and in combined mode stdout too) goes to $out.
# With WATCH_KILL set, the stream passes through a watcher that SIGSTOPs and
# then SIGKILLs QEMU on the first line matching the regex.
run_qemu() {  # run_qemu OUT -- argv...
    local out=$1; shift; [ "$1" = -- ] && shift
    local combined=$COMBINED
    if [ -z "$WATCH_KILL" ]; then
        set +e
        if [ "$combined" = 1 ]; then
            timeout --kill-after=5 "$RUN_TIMEOUT" "$@" < /dev/null > "$out" 2>&1
        else
            timeout --kill-after=5 "$RUN_TIMEOUT" "$@" < /dev/null > /dev/null 2> "$out"
        fi
        RUN_RC=$?
        set -e
        RUN_HOW="exited with status $RUN_RC"
        return 0
    fi
    local fifo qpid killed=0 qemu_pid="" i
    fifo="$WORK/watch.fifo"; rm -f "$fifo"; mkfifo "$fifo"
    # (subshell -> timeout -> qemu; the extra subshell level only keeps bash
    # from printing "Killed" when timeout re-raises qemu's SIGKILL)
    if [ "$combined" = 1 ]; then
        ( timeout --kill-after=5 "$RUN_TIMEOUT" "$@" < /dev/null > "$fifo" 2>&1; exit $? ) 2>/dev/null &
    else
        ( timeout --kill-after=5 "$RUN_TIMEOUT" "$@" < /dev/null > /dev/null 2> "$fifo"; exit $? ) 2>/dev/null &
    fi
    qpid=$!
    # tee copies the stream to the log unchanged (block reads, no re-framing);
    # grep -m1 stops at the first matching line, then QEMU is frozen and
    # killed; tee -p keeps writing the file after grep has gone.
    tee -p "$out" < "$fifo" | {
        # the QEMU process is the child of timeout(1), itself the child of
        # the subshell $qpid (they exist once the FIFO has a reader, i.e. now)
        for i in $(seq 1 200); do
            qemu_pid=$(pgrep -P "$(pgrep -P "$qpid" | head -1 || echo 0)" | head -1 || true)
            [ -n "$qemu_pid" ] && break
            sleep 0.05
        done
        echo "$qemu_pid" > "$WORK/watch.pid"
        if [ -n "$qemu_pid" ] && grep -m1 -qE "$WATCH_KILL"; then
            kill -STOP "$qemu_pid" 2>/dev/null || true
            kill -KILL "$qemu_pid" 2>/dev/null || true
            echo killed > "$WORK/watch.result"
        fi
        cat > /dev/null
    }
    qemu_pid=$(cat "$WORK/watch.pid"); rm -f "$WORK/watch.pid"
    [ -n "$qemu_pid" ] || die "could not find the qemu process under timeout pid $qpid"
    [ -f "$WORK/watch.result" ] && killed=1
    rm -f "$WORK/watch.result"
    set +e; wait "$qpid" 2>/dev/null; RUN_RC=$?; set -e
    rm -f "$fifo"
    if [ $killed = 1 ]; then
        RUN_HOW="killed by the watcher (SIGSTOP+SIGKILL to pid $qemu_pid) after the matching line; timeout(1) reported status $RUN_RC"
    else
        RUN_HOW="watcher never matched; exited with status $RUN_RC"
    fi
}

versions_block() {
    cat <<EOF
- date (UTC): $(date -u +%Y-%m-%dT%H:%M:%SZ)
- host: $(. /etc/os-release && echo "$PRETTY_NAME"), $(uname -m)
- \`$QEMU --version\`: $("$QEMU" --version | head -1)
- guest kernel: \`$KERNEL_IMG\`, \`uname -r\` in the guest: $KVER; package $(dpkg-query -W -f '${Package} ${Version}' "linux-image-$KVER" 2>/dev/null || echo unknown) (metapackage: $(dpkg-query -W -f '${Package} ${Version}' linux-image-amd64 2>/dev/null || echo 'not installed'))
- busybox: $(/bin/busybox 2>&1 | head -1) (package $(dpkg-query -W -f '${Package} ${Version}' busybox-static 2>/dev/null || echo unknown))
- guest /init loads, with busybox insmod, in this order: $MODULE_LOAD_ORDER
EOF
}

write_notes() {  # write_notes SCENARIO DIR
    local sc=$1 dir=$2 notes="$2/NOTES.md" gen
    gen=$(mktemp "$WORK/gen.XXXXXX")
    {
        echo "<!-- BEGIN GENERATED by scripts/capture-samples.sh: do not edit inside this block -->"
        echo "## Capture (generated)"
        echo
        echo "Scenario \`$sc\`: $DESC."
        echo
        versions_block
        echo
        echo "Run 1 (\`trace.log\` = QEMU stderr, \`console.log\` = guest serial via a file chardev), $RUN1_HOW:"
        echo
        echo '```sh'
        echo "$RUN1_CMD"
        echo '```'
        echo
        echo "Run 2 (\`combined.log\` = guest serial on stdio + QEMU stderr with -msg timestamp=on, one fd), $RUN2_HOW:"
        echo
        echo '```sh'
        echo "$RUN2_CMD"
        echo '```'
        echo
        echo "(\`\$WORK\` is a mktemp -d directory holding the kernel copy, initramfs and disk image; \`\$OUT\` is \`samples/$sc\`.)"
        if [ -n "${BACKEND_CMD:-}" ]; then
            echo
            echo "Before each run the script starts the vhost-user back-end ($BACKEND_VERSION), and after the run stops it (SIGTERM to the pid it started):"
            echo
            echo '```sh'
            echo "$BACKEND_CMD"
            echo '```'
        fi
        if [ -n "$WATCH_KILL" ]; then
            echo
            echo "In both runs the shown redirection of the watched stream (stderr in run 1, stdout+stderr in run 2) goes to a FIFO instead of the file; a watcher (\`run_qemu\` in the script) runs \`tee -p FILE < FIFO | grep -m1 -qE '$WATCH_KILL'\`, so the file gets the stream byte for byte, and when grep matches it sends SIGSTOP and then SIGKILL to the qemu process (child of timeout). Whatever QEMU had already written is still copied. The guest runs on for the watcher's reaction time (well under a millisecond to a few ms; DRIVER_OK follows FEATURES_OK about 40 ms later under TCG), so the exact last lines may vary between captures; the script re-runs (up to 5 tries) until the log holds a status write of 11 and none of 15. Tries used: run 1: $RUN1_TRIES, run 2: $RUN2_TRIES."
        fi
        echo "<!-- END GENERATED -->"
    } > "$gen"
    if ! splice_generated "$notes" "$gen"; then
        {
            echo "# $sc"
            echo
            echo "## Scenario"
            echo
            echo "$DESC."
            echo
            echo "## Correct diagnosis"
            echo
            echo "(to be written by hand from the logs; see expected.json)"
            echo
            cat "$gen"
        } > "$notes"
    fi
    rm -f "$gen"
}

capture() {  # capture SCENARIO
    local sc=$1 out="$SAMPLES_DIR/$1" try
    scenario_setup "$sc"
    mkdir -p "$out"
    # BASE_APPEND: the kernel command line before the scenario's APPEND (capture-quiet.sh
    # boots with `quiet` instead of ignore_loglevel)
    local append="${BASE_APPEND:-console=ttyS0 ignore_loglevel panic=-1}${APPEND:+ $APPEND}"
    local common=("$QEMU" "${MACHINE[@]}" -accel tcg -smp 1 -m 512M
                  -nodefaults -no-user-config -display none -no-reboot
                  -kernel "$WORK/vmlinuz" -initrd "$WORK/initramfs.cpio.gz"
                  -append "$append")
    # TRACE_EVENTS: the trace event patterns of the scenario (default virtio_*), one -trace
    # each; BEFORE_RUN / AFTER_RUN: a command the scenario runs before and after each QEMU
    # run (a vhost-user back-end it starts and stops)
    local trace=() e
    for e in ${TRACE_EVENTS:-virtio_*}; do trace+=(-trace "$e"); done
    for try in 1 2 3 4 5; do
        log "$sc: run 1 (trace.log + console.log), try $try"
        rm -f "$out/console.log"
        local run1=("${common[@]}" -chardev "file,id=s0,path=$out/console.log"
                    -serial chardev:s0 "${trace[@]}" "${DEVICES[@]}")
        ${BEFORE_RUN:-}
        COMBINED=0 run_qemu "$out/trace.log" -- "${run1[@]}"
        ${AFTER_RUN:-}
        RUN1_HOW=$RUN_HOW; RUN1_TRIES=$try
        if [ -z "$WATCH_KILL" ] || { grep -Eq 'virtio_set_status .* val 11$' "$out/trace.log" && ! grep -Eq 'virtio_set_status .* val 15$' "$out/trace.log"; }; then
            break
        fi
        log "$sc: run 1 did not stop between FEATURES_OK and DRIVER_OK ($RUN_HOW; last status lines: $(grep -Eo 'val [0-9]+$' "$out/trace.log" | tail -3 | paste -sd' ')), retrying"
    done
    for try in 1 2 3 4 5; do
        log "$sc: run 2 (combined.log), try $try"
        local run2=("${common[@]}" -msg timestamp=on -serial stdio
                    "${trace[@]}" "${DEVICES[@]}")
        ${BEFORE_RUN:-}
        COMBINED=1 run_qemu "$out/combined.log" -- "${run2[@]}"
        ${AFTER_RUN:-}
        RUN2_HOW=$RUN_HOW; RUN2_TRIES=$try
        if [ -z "$WATCH_KILL" ] || { grep -Eq 'virtio_set_status .* val 11' "$out/combined.log" && ! grep -Eq 'virtio_set_status .* val 15' "$out/combined.log"; }; then
            break
        fi
        log "$sc: run 2 did not stop between FEATURES_OK and DRIVER_OK ($RUN_HOW; last status lines: $(grep -Eo 'val [0-9]+$' "$out/combined.log" | tail -3 | paste -sd' ')), retrying"
    done
    # command lines with the temp paths replaced by $WORK / $OUT
    local a r1=() r2=()
    # (and capture-arch.sh's package cache, where it unpacks a QEMU or firmware, as $ARCH_CACHE)
    for a in "${run1[@]}"; do a=${a//$WORK/\$WORK}; a=${a//${ARCH_CACHE:-$WORK}/\$ARCH_CACHE}; r1+=("${a//$out/\$OUT}"); done
    for a in "${run2[@]}"; do a=${a//$WORK/\$WORK}; a=${a//${ARCH_CACHE:-$WORK}/\$ARCH_CACHE}; r2+=("${a//$out/\$OUT}"); done
    RUN1_CMD="$(shquote timeout --kill-after=5 "$RUN_TIMEOUT" "${r1[@]}") < /dev/null > /dev/null 2> \"\$OUT/trace.log\""
    RUN2_CMD="$(shquote timeout --kill-after=5 "$RUN_TIMEOUT" "${r2[@]}") < /dev/null > \"\$OUT/combined.log\" 2>&1"
    write_notes "$sc" "$out"
    log "$sc: $(wc -c < "$out/trace.log") B trace, $(wc -c < "$out/console.log") B console, $(wc -c < "$out/combined.log") B combined"
}

# Shared by every capture script (capture-cloud.sh and capture-arch.sh call the first
# two themselves): the scenarios named are known ones (ALL_SCENARIOS of the script).
check_scenarios() {
    local s
    for s in "$@"; do
        printf '%s\n' "${ALL_SCENARIOS[@]}" | grep -qx -- "$s" || die "unknown scenario: $s"
    done
}

make_work() {  # make_work LABEL: $WORK, a work directory removed on exit (KEEP_WORK keeps it)
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/virtiodiag-$1.XXXXXX")
    [ -n "${KEEP_WORK:-}" ] && log "keeping $WORK" || trap 'rm -rf "$WORK"' EXIT
}

# The scenarios named are known ones; then packages, the kernel, a work directory and the
# initramfs.
prepare_capture() {
    check_scenarios "$@"
    ensure_packages
    pick_kernel
    make_work capture
    cp "$KERNEL_IMG" "$WORK/vmlinuz"
    build_initramfs "$WORK/initramfs.cpio.gz"
}

main() {
    if [ "${1:-}" = --list ]; then printf '%s\n' "${ALL_SCENARIOS[@]}"; exit 0; fi
    local scenarios=("$@")
    [ ${#scenarios[@]} -gt 0 ] || scenarios=("${ALL_SCENARIOS[@]}")
    prepare_capture "${scenarios[@]}"
    DISK_IMG="$WORK/disk.img"
    truncate -s 1M "$DISK_IMG"
    log "kernel $KVER, modules: $MODULE_LOAD_ORDER"
    for s in "${scenarios[@]}"; do capture "$s"; done
}

# (sourced by scripts/capture-extra.sh for its functions: then main is not run)
[[ "${BASH_SOURCE[0]}" != "$0" ]] || main "$@"
