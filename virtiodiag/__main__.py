"""``python -m virtiodiag`` and the ``virtiodiag`` command (pyproject's script): the
CLI's own process. Its garbage collector is held from here, before click is imported
(collector.hold_from_start); ``analyze`` keeps it so, other commands get it back."""

from virtiodiag import collector

collector.hold_from_start()

from virtiodiag.cli import main  # noqa: E402 - after the collector is held

if __name__ == "__main__":
    main()
