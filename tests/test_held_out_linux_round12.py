"""Formats from the twelfth Linux-guest judge (2026-12-04), written from their sources; the
held-out logs that showed them are listed in docs/held-out-logs.md (their text is not here).

* HyperKit's command line (moby/hyperkit, the macOS port of bhyve that runs the Linux guests
  of Docker Desktop, linuxkit and minikube's hyperkit driver; xhyve before it): bhyve's
  "-s slot,emulation[,conf]" with emulations of its own (src/lib/pci_virtio_*.c pe_emu:
  virtio-net, virtio-blk, virtio-rnd, virtio-tap, virtio-vpnkit, virtio-9p, virtio-sock).
  Held-out logs carried it as a launcher's message with the command's words, and as the
  debug lines of HyperKit's Go package (go/hyperkit.go: buildArgs() "hyperkit: Arguments:
  %#v" of a []string, Start() "hyperkit: Waiting for %#v" and execute() "hyperkit: Starting
  %#v" of the exec.Cmd, whose Args is that []string): each gave VD020 (a line that looks
  like virtio, no device) where the guest's devices were declared, one per -s option.
* util-linux mount(8) on mount(2)'s ENODEV, no file system of the asked type registered in
  the kernel: libmount mnt_context_get_mount_excode() "unknown filesystem type '%s'",
  printed "mount: %s: %s." after the target (2.30+) or warnx'd "mount: unknown filesystem
  type '%s'" (before). A held-out guest whose kernel package left virtiofs out could not
  mount its virtio-fs shares; the report gave VD020 and exited 0.
* VirtualBox's VBoxManage (VBoxManageModifyVM.cpp MODIFYVM_NICTYPE): "--nictype<N> virtio"
  on a build without VBOX_WITH_VIRTIO falls to errorArgument() "Invalid NIC type '%s'
  specified for NIC %u" ("VBoxManage: error: " before it): the virtio-net adapter does not
  exist and modifyvm fails. A held-out minikube start on a distribution's VirtualBox gave
  VD020 and exited 0.
Lines written from those format strings, with made-up values."""

import format_tables


def _run(text, dialects):
    return format_tables.analyse_text("host.log", text, dialects)


def _declared(result):
    return sorted((d.address, d.device_type) for d in result.model.live_devices())


def test_hyperkits_command_line_declares_a_device_per_virtio_slot(dialects):
    result = _run(
        "2024-03-05 10:12:44 launcher: starting /usr/local/bin/hyperkit -A -u -F "
        "vm7/hyperkit.pid -c 2 -m 2048M -s 0:0,hostbridge -s 31,lpc -s "
        "1:0,virtio-vpnkit,path=vm7/vpnkit.sock,uuid=0f3c2d1e-aaaa-bbbb-cccc-0123456789ab"
        " -s 2:0,virtio-blk,vm7/disk.img -s 3,virtio-sock,guest_cid=3,path=vm7 "
        "-s 4,virtio-rnd -s 5,virtio-9p,path=vm7/s5,tag=share -l com1,stdio\n", dialects)
    assert _declared(result) == [("0000:00:01.0", "net"), ("0000:00:02.0", "block"),
                                 ("0000:00:03.0", "vsock"), ("0000:00:04.0", "rng"),
                                 ("0000:00:05.0", "9p")]
    assert all(d.dialects == {"hyperkit-cmdline"} for d in result.model.live_devices())
    assert not [f for f in result.findings if f.rule == "VD020"]
    assert not [f for f in result.findings if f.severity in ("error", "warning")]


def test_the_go_packages_argument_list_declares_the_same_devices(dialects):
    """Go's %#v quotes each word and puts a comma after it: the -s values are read without
    them, and the CD-ROM's ahci-cd slot is no virtio device."""
    result = _run(
        "I0305 10:12:44.100200   4242 main.go:130] libmachine: (vm7) DBG | 2024/03/05 10:12:44"
        " DEBUG: hyperkit: Arguments: []string{\"-A\", \"-u\", \"-c\", \"2\", \"-m\", \"2048M\","
        " \"-s\", \"0:0,hostbridge\", \"-s\", \"31,lpc\", \"-s\", \"1:0,virtio-net\", \"-s\","
        " \"2:0,virtio-blk,vm7/vm7.rawdisk\", \"-s\", \"3,ahci-cd,vm7/boot.iso\","
        " \"-s\", \"4,virtio-rnd\", \"-l\", \"com1,stdio\"}\n", dialects)
    assert _declared(result) == [("0000:00:01.0", "net"), ("0000:00:02.0", "block"),
                                 ("0000:00:04.0", "rng")]
    assert not [f for f in result.findings if f.rule == "VD020"]


def test_the_exec_cmd_it_waits_for_declares_its_devices(dialects):
    result = _run(
        "DEBU[0000] hyperkit: Waiting for &exec.Cmd{Path:\"/usr/local/bin/hyperkit\", "
        "Args:[]string{\"/usr/local/bin/hyperkit\", \"-A\", \"-s\", \"0:0,hostbridge\", \"-s\", "
        "\"2:0,virtio-tap,tap1\", \"-s\", \"3,virtio-sock,guest_cid=3,path=vm8\"}, "
        "Env:[]string{\"HOME=/Users/someone\"}}\n", dialects)
    assert _declared(result) == [("0000:00:02.0", "net"), ("0000:00:03.0", "vsock")]


def test_a_hyperkit_line_with_no_virtio_slot_declares_nothing(dialects):
    result = _run("DEBU[0000] hyperkit: Pid is 14115\n"
                  "DEBU[0000] hyperkit: Arguments: []string{\"-A\", \"-u\", \"-s\", "
                  "\"0:0,hostbridge\", \"-s\", \"31,lpc\", \"-s\", \"3,ahci-cd,a.iso\"}\n",
                  dialects)
    assert result.model.live_devices() == []


def test_a_mount_of_virtiofs_on_a_kernel_without_it_is_a_failure(dialects):
    result = _run("guest:~ # mount /srv/share\n"
                  "mount: /srv/share: unknown filesystem type 'virtiofs'.\n"
                  "       dmesg(1) may have more information after failed mount system call.\n",
                  dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD015" and finding.line == 2
    assert "no 'virtiofs' file system" in finding.message
    assert "CONFIG_VIRTIO_FS" in finding.hint
    assert not [f for f in result.findings if f.rule == "VD020"]


def test_the_older_mount_message_without_the_target_is_the_same_failure(dialects):
    result = _run("mount: unknown filesystem type 'virtiofs'\n", dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD015" and "virtiofs" in finding.message


def test_an_unknown_type_that_is_no_virtio_file_system_is_not_read(dialects):
    result = _run("mount: /mnt/data: unknown filesystem type 'ntfs3'.\n", dialects)
    assert not result.findings


def test_virtualbox_refusing_its_virtio_nic_type_is_a_failure(dialects):
    result = _run("creating: /usr/bin/VBoxManage modifyvm vm3 --nic1 nat --nictype1 virtio "
                  "--cableconnected1 on failed:\n"
                  "VBoxManage: error: Invalid NIC type 'virtio' specified for NIC 1\n"
                  "creating: /usr/bin/VBoxManage modifyvm vm3 --nic1 nat --nictype1 virtio "
                  "--cableconnected1 on failed:\n"
                  "VBoxManage: error: Invalid NIC type 'virtio' specified for NIC 1\n", dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD006" and finding.line == 2
    assert finding.message.startswith("VirtualBox refused virtio-net (a net device)")
    assert "VBOX_WITH_VIRTIO" in finding.hint
    assert not [f for f in result.findings if f.rule == "VD020"]


def test_an_invalid_nic_type_that_is_no_virtio_one_is_not_read(dialects):
    result = _run("VBoxManage: error: Invalid NIC type 'e1001' specified for NIC 2\n", dialects)
    assert not result.findings
