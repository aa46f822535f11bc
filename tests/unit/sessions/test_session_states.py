import itertools

import pytest
from sessions.session_states import OPEN, OPEN_SQL, TERMINAL, SessionStatus, can_move, is_open

LEGAL = {
    (SessionStatus.ACTIVE, SessionStatus.ARRIVED),
    (SessionStatus.ARRIVED, SessionStatus.MERCHANT_NOTIFIED),
    *((s, SessionStatus.COMPLETED) for s in OPEN),
    *((s, SessionStatus.EXPIRED) for s in OPEN),
    *((s, SessionStatus.CANCELLED) for s in OPEN),
}


PAIRS = list(itertools.product(SessionStatus, SessionStatus))


@pytest.mark.parametrize(("current", "target"), PAIRS)
def test_every_pair_of_states(current: SessionStatus, target: SessionStatus) -> None:
    assert can_move(current, target) is ((current, target) in LEGAL)


def test_terminal_states_never_move() -> None:
    for current, target in itertools.product(TERMINAL, SessionStatus):
        assert not can_move(current, target)
        assert not is_open(current)


def test_the_sql_predicate_names_exactly_the_open_states() -> None:
    expected = "status IN (" + ", ".join(f"'{s.value}'" for s in OPEN) + ")"
    assert expected == OPEN_SQL
