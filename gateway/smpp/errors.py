"""One hierarchy for everything that can go wrong in the SMPP core.

``ProtocolError`` is the base; every error carries ``status``, the ``command_status`` that
answers (or would answer) the PDU at fault:

- ``PduError``: a frame we cannot accept (bad header, unknown command, malformed body);
- ``RemoteProtocolError``: the peer sent a PDU its session state does not allow;
- ``LocalProtocolError``: we tried to send something the session does not allow (a bug of
  ours, never the peer's fault).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.smpp.constants import RESPONSE_BIT, CommandId, CommandStatus

if TYPE_CHECKING:
    from gateway.smpp.states import Role, State


class ProtocolError(Exception):
    """An SMPP rule was broken; ``status`` is the command_status that answers it."""

    def __init__(self, message: str, status: CommandStatus) -> None:
        super().__init__(message)
        self.status = status


class PduError(ProtocolError):
    """A frame that cannot be accepted, with the status to answer it with.

    ``command_id`` and ``sequence_number`` come from the header when it could be read, so the
    answer can be the matching ``*_resp``; ``fatal`` means framing is lost and the
    connection must close after the answer.
    """

    def __init__(
        self,
        message: str,
        status: CommandStatus,
        *,
        command_id: int | None = None,
        sequence_number: int = 0,
        fatal: bool = False,
    ) -> None:
        super().__init__(message, status)
        self.command_id = command_id
        self.sequence_number = sequence_number
        self.fatal = fatal

    @property
    def answer_with_generic_nack(self) -> bool:
        """Header-level problems (and unknown or response PDUs) get a generic_nack.

        A fatal error is a header problem (command_length not usable), whatever the
        command_id: SMPP 3.4 §4.3 answers an invalid command_length with generic_nack.
        ``decode`` reports every command_id it has no PDU for as ESME_RINVCMDID, so a
        request it could read the header of is answered with its own ``*_resp``.
        """
        if self.fatal or self.command_id is None or self.status == CommandStatus.ESME_RINVCMDID:
            return True
        return bool(self.command_id & RESPONSE_BIT)


class RemoteProtocolError(ProtocolError):
    """The peer sent a request that its session's state does not allow.

    Names the role we play, the state we are in and the PDU; ``status`` is the answer
    (ESME_RALYBND for a bind on a bound session, ESME_RINVBNDSTS otherwise).
    """

    def __init__(
        self, role: Role, state: State, command_id: int, sequence_number: int, status: CommandStatus
    ) -> None:
        super().__init__(
            f"{_name(command_id)} not allowed from the peer of a {role.value} session "
            f"in {state.value}",
            status,
        )
        self.role = role
        self.state = state
        self.command_id = command_id
        self.sequence_number = sequence_number


class LocalProtocolError(ProtocolError):
    """We tried to send something the session does not allow (a bug of ours).

    ``role``, ``state`` and ``command_id`` are set when the transition table refused the
    PDU; ``status`` is what the peer would answer such a PDU with.
    """

    def __init__(
        self,
        message: str,
        status: CommandStatus = CommandStatus.ESME_RINVBNDSTS,
        *,
        role: Role | None = None,
        state: State | None = None,
        command_id: int | None = None,
    ) -> None:
        super().__init__(message, status)
        self.role = role
        self.state = state
        self.command_id = command_id


def _name(command_id: int) -> str:
    try:
        return CommandId(command_id).name.lower()
    except ValueError:
        return f"command_id 0x{command_id:08x}"


__all__ = ["LocalProtocolError", "PduError", "ProtocolError", "RemoteProtocolError"]
