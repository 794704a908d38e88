"""A Windows guest's storport bus reset (event 129) in an exported System event log is the
virtio storage device's whose miniport the event names as its source.

Written from the formats, with values of our own (the class comes from posted virtio-win
event logs that virtiodiag passed with exit 0, held out of the repository):
- storport's event 129 message "Reset to device, %1, was issued." with storport's adapter
  object (\\Device\\RaidPort<n>) for %1 (Windows Driver Kit, storport);
- the Event Viewer's and wevtutil's text export: "Source:" padded to a column, the message
  after "Description:"; Get-WinEvent's group header "ProviderName: <source>".
"""

from virtiodiag.analysis import analyse_blocks


def _run(text, dialects):
    result = analyse_blocks("events.txt", [text.encode()], dialects)
    return result, [(f.rule, f.severity, f.line) for f in result.findings]


EVENT_VIEWER = """\
Log Name:      System
Source:        vioscsi
Date:          3/14/2025 9:26:53 AM
Event ID:      129
Task Category: None
Level:         Warning
Keywords:      Classic
User:          N/A
Computer:      WIN-TEST01
Description:
Reset to device, \\Device\\RaidPort1, was issued.
"""


def test_a_vioscsi_reset_is_its_devices_error(dialects):
    result, findings = _run(EVENT_VIEWER, dialects)
    assert findings == [("VD006", "error", 11)]
    (device,) = result.model.live_devices()
    assert device.device_type == "scsi"
    assert result.findings[0].device == device.id
    assert "RaidPort1" in result.findings[0].message
    assert "timeout" in result.findings[0].hint


def test_viostor_named_by_get_winevent(dialects):
    text = ("   ProviderName: viostor\n\n"
            "TimeCreated                     Id LevelDisplayName Message\n"
            "-----------                     -- ---------------- -------\n"
            "3/14/2025 9:26:53 AM           129 Warning          Reset to device, "
            "\\Device\\RaidPort0, was issued.\n")
    result, findings = _run(text, dialects)
    assert findings == [("VD006", "error", 5)]
    (device,) = result.model.live_devices()
    assert device.device_type == "block"


def test_a_reset_of_an_adapter_no_virtio_driver_names_is_not_an_error(dialects):
    # storport logs the same event for every miniport (LSI's, AHCI's, NVMe's).
    text = EVENT_VIEWER.replace("vioscsi", "LSI_SAS")
    result, findings = _run(text, dialects)
    assert findings == []
    assert result.model.live_devices() == []


def test_with_two_virtio_storage_drivers_the_reset_stays_the_runs(dialects):
    text = EVENT_VIEWER + EVENT_VIEWER.replace("vioscsi", "viostor").replace("RaidPort1",
                                                                               "RaidPort2")
    result, findings = _run(text, dialects)
    # Which adapter stalled the log does not say: one error of the run, both resets in it.
    assert len(result.model.live_devices()) == 2
    assert findings == [("VD006", "error", 11)]
    assert "2 times" in result.findings[0].message
    assert "vioscsi" not in result.findings[0].message
