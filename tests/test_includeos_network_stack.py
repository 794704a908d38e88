"""IncludeOS creates the network stack of each NIC a driver registered: INFO("Network",
"Creating stack for %s on %s" [" (MTU=%u)"]) (src/net/super_stack.cpp, net/interfaces.cpp
since), the NIC's driver name and interface. VirtioNet registers its NIC once its constructor
wrote DRIVER_OK: a VirtioNet stack is its device up. Values of our own (the class comes from
a posted IncludeOS 0.11 console that virtiodiag read as no device, held out of the
repository).
"""

import format_tables


def _run(text, dialects):
    return format_tables.analysed_findings(text, dialects, "guest.log")


def test_a_virtionet_stack_is_the_net_device_up(dialects):
    text = ("    [ Network ] Creating stack for VirtioNet on eth0\n"
            "      [ Inet4 ] Bringing up eth0 on CPU 0\n")
    result, findings = _run(text, dialects)
    (device,) = result.model.live_devices()
    assert device.device_type == "net"
    assert device.driver_ok_implied.line == 1
    assert findings == []


def test_the_stack_line_joins_the_device_the_driver_lines_showed(dialects):
    text = ("                [x] Device ID 0x1000 is in a valid range (Virtio LEGACY)\n"
            "  [ VirtioNet ] Driver initializing\n"
            "    [ Network ] Creating stack for VirtioNet on eth0 (MTU=1500)\n")
    result, findings = _run(text, dialects)
    (device,) = result.model.live_devices()
    assert device.device_type == "net"
    assert device.driver_ok_implied.line == 3
    assert findings == []


def test_another_drivers_stack_is_no_virtio_device(dialects):
    result, _ = _run("    [ Network ] Creating stack for e1000 on eth0 (MTU=1500)\n", dialects)
    assert result.model.live_devices() == []
