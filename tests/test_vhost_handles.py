"""SPDK's vhost target names a failing connection by DPDK's number for it ("vhost device %d:
..."), not by its socket; the log names the socket for that number earlier (DPDK's
"new device, handle is %d" with the socket's path, or followed by the socket's own lines).
Before model/vhost_handles.py the errors stayed "a device the line does not name" beside a
device "handle 0" and the socket's device.

Lines written from the printing code, with made-up values:
* DPDK lib/vhost/socket.c vhost_user_add_connection(): "new device, handle is %d" (SPDK's
  own copy, lib/vhost/rte_vhost/socket.c, and DPDK before 21.11: "VHOST_CONFIG: " and no
  path; 23.11+ VHOST_CONFIG_LOG(path, INFO, ...): "VHOST_CONFIG: (<path>) ");
* SPDK's copy of vhost_user.c vhost_user_msg_handler(): "%s: read message %s" (the path);
* SPDK lib/vhost/vhost.c start_device() / rte_vhost_user.c: SPDK_ERRLOG("vhost device %d:
  Guest mmaped memory size %" PRIx64 " is not a 2MB multiple\\n", vid, ...) and
  "vhost device %d: Failed to get guest memory table", after lib/log/log.c's
  "%s:%4d:%s: *%s*: " head."""

import format_tables

_OWN_COPY = ("VHOST_CONFIG: vhost-user server: socket created, fd: 24\n"
             "VHOST_CONFIG: bind to /var/run/spdk/vhost.0\n"
             "VHOST_CONFIG: new vhost user connection is 25\n"
             "VHOST_CONFIG: new device, handle is 0\n"
             "VHOST_CONFIG: /var/run/spdk/vhost.0: read message VHOST_USER_GET_FEATURES\n"
             "VHOST_CONFIG: /var/run/spdk/vhost.0: read message VHOST_USER_SET_MEM_TABLE\n"
             "vhost.c: 506:start_device: *ERROR*: vhost device 0: Guest mmaped memory size "
             "3f000000 is not a 2MB multiple\n")

_PATHS = ("VHOST_CONFIG: (/var/run/spdk/vhost.0) new device, handle is 0\n"
          "VHOST_CONFIG: (/var/run/spdk/vhost.1) new device, handle is 1\n"
          "VHOST_CONFIG: (/var/run/spdk/vhost.0) read message VHOST_USER_SET_MEM_TABLE\n"
          "rte_vhost_user.c:1063:vhost_register_memtable_if_required: *ERROR*: vhost device 1: "
          "Failed to get guest memory table\n")


def _run(text, dialects):
    return format_tables.analyse_text("spdk.log", text, dialects)


def test_the_error_of_a_handle_goes_to_the_socket_named_for_it(dialects):
    result = _run(_OWN_COPY, dialects)
    (device,) = result.model.live_devices()  # the socket's, the handle joined to it
    assert "name:/var/run/spdk/vhost.0" in device.aliases
    assert not result.model.unattributed_errors
    (finding,) = [f for f in result.findings if f.rule == "VD006"]
    assert finding.device_identity == device.identity and finding.line == 7
    assert finding.device == "/var/run/spdk/vhost.0"


def test_with_two_sockets_the_handle_picks_one(dialects):
    result = _run(_PATHS, dialects)
    by_name = {d.identity: d for d in result.model.live_devices()}
    assert len(by_name) == 2
    (finding,) = [f for f in result.findings if f.rule == "VD006"]
    assert finding.device == "/var/run/spdk/vhost.1"


def test_a_number_given_again_is_the_latest_connection_s(dialects):
    # DPDK gives a closed connection's number to the next one (socket.c get_device() takes
    # the first free slot): the error after the second "handle is 0" is the second socket's.
    text = ("VHOST_CONFIG: (/var/run/spdk/vhost.0) new device, handle is 0\n"
            "VHOST_CONFIG: (/var/run/spdk/vhost.0) vhost peer closed\n"
            "VHOST_CONFIG: (/var/run/spdk/vhost.2) new device, handle is 0\n"
            "vhost.c: 506:start_device: *ERROR*: vhost device 0: Guest mmaped memory size "
            "3f000000 is not a 2MB multiple\n")
    (finding,) = [f for f in _run(text, dialects).findings if f.rule == "VD006"]
    assert finding.device == "/var/run/spdk/vhost.2"


def test_an_error_of_a_number_no_line_gave_stays_unnamed(dialects):
    text = _PATHS.replace("vhost device 1:", "vhost device 7:")
    result = _run(text, dialects)
    assert len(result.model.unattributed_errors) == 1
