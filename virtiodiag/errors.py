"""Internal errors: a bug of ours, never a property of the log.

Only a grammar's "no match" (Lark's ``UnexpectedInput``) means that a line is not
understood. Any other exception while a log is read, parsed, modelled or checked is a bug
in virtiodiag: it stops the run with exit status 2 and one line naming the file and the
line being read (``virtiodiag --debug`` prints the traceback too), so that a CI gate never
looks green because the tool broke.
"""

from __future__ import annotations


class InternalError(Exception):
    """A bug met while analysing ``path`` at ``line`` (None: after the input, in ``where``)."""

    def __init__(self, path: str, line: int | None, cause: BaseException, where: str = ""):
        # Lark wraps a transformer's exception in VisitError: name the original one.
        cause = getattr(cause, "orig_exc", None) or cause
        super().__init__(path, line, cause, where)
        self.path = path
        self.line = line
        self.cause = cause
        self.where = where

    def __str__(self) -> str:
        at = f"{self.path}:{self.line}" if self.line else self.path
        where = f" in {self.where}" if self.where else ""
        return f"{at}{where}: {type(self.cause).__name__}: {self.cause}"
