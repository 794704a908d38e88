"""NetKVM's control-queue debug lines (DebugView or a kernel debugger) name the class of its
control path, CParaNdisCX, not the device: a command the device refused is a warning of the
net device, a control queue that stopped answering an error.

Written from NetKVM/Common/ParaNdis-CX.cpp's DPrintf formats, with values of our own (the
class comes from a posted NetKVM debug output that virtiodiag read as no device and no
finding, held out of the repository): SendControlMessage's "%s - ERROR: error %d returned for
class %d" (until 2019) and GetResponse's "%s - VIRTIO_NET_ERROR returned for %d.%d", "%s -
ERROR: cmd %d.%d timed out" (since), __FUNCTION__ being "CParaNdisCX::<method>".
"""

from virtiodiag.analysis import analyse_blocks


def _run(text, dialects):
    result = analyse_blocks("dbgview.log", [text.encode()], dialects)
    return result, [(f.rule, f.severity, f.line) for f in result.findings]


def test_a_refused_vlan_command_is_a_warning_of_the_net_device(dialects):
    text = ("CParaNdisCX::SendControlMessage - ERROR: error 1 returned for class 2\n"
            "CParaNdisCX::SendControlMessage - ERROR: error 1 returned for class 2\n")
    result, findings = _run(text, dialects)
    assert findings == [("VD006", "warning", 1)]
    assert "net device" in result.findings[0].message
    assert "2 times" in result.findings[0].message
    assert "VIRTIO_NET_ERR" in result.findings[0].hint


def test_the_newer_format_joins_the_logs_one_net_device(dialects):
    text = ("[3]0004.0A10::05/06/2024-07:08:09.123 [NetKVM]ParaNdis_InitializeContext\n"
            "CParaNdisCX::GetResponse - VIRTIO_NET_ERROR returned for 4.0\n")
    result, findings = _run(text, dialects)
    assert findings == [("VD006", "warning", 2)]
    (device,) = result.model.live_devices()
    assert device.device_type == "net"
    assert result.findings[0].device == device.id


def test_a_control_queue_that_stops_answering_is_an_error(dialects):
    text = "CParaNdisCX::GetResponse - ERROR: cmd 4.0 timed out\n"
    result, findings = _run(text, dialects)
    assert findings == [("VD006", "error", 1)]
    assert "timed out" in result.findings[0].message
