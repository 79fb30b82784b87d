"""Strategy ``attribute`` (the default): counters fresh in memory the moment you change a comment.

Two halves with one rule between them: **the database is never written from
memory.**

* *The database*: at each flush, exactly what ``before_flush`` does
  (``flush_counts``): the rows the flush will write, against what those rows
  hold now under lock, as ``SET x = x + :delta`` in lock order. Whatever the
  session did before (expire, refresh, expunge, re-add, savepoints), only
  what is really written is counted.
* *Memory*: attribute ``set`` events on every attribute the declaration
  counts (an item's paths and their keys, its weighed columns: a comment's
  ``thread``/``thread_id``, ``author``/``author_id`` and ``message``; a
  thread's ``board``/``board_id``), and an item or parent joining or leaving
  the session, show the change on the loaded parents at once, as the classic
  answer does, so ``thread.word_count`` is right before anything is flushed.
  One listener does the same thing for every attribute: work out the share
  the item *would* write now (by the same rules as the flush plan), compare it
  with the share memory shows for it, and move the difference. The values are set with
  ``set_committed_value``, so they are never flushed; after every flush the
  parents hold the values the database returned, and memory starts afresh.

What memory shows only after the next flush (the database is exact all the
same): ``session.delete()`` (a session has no event for it), a middle
parent's counts on its own parent after it is expired, refreshed or expunged
(a thread's on its board), and another transaction's changes.

Cannot see: changes that do not pass through the session (Core or raw SQL);
ORM bulk statements are refused (``bulk_guard``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session, UOWTransaction, object_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import ObjectDeletedError
from sqlalchemy.orm.state import InstanceState
from sqlalchemy.orm.util import identity_key

from . import at_commit
from .bulk_guard import guards
from .copies import bookkeeping, new_object, start_at_zero
from .declaration import CounterSet
from .flush_check import flush_check
from .flush_counts import count_flush
from .flush_plan import UNCHANGED, written_parent, written_parent_ref
from .history import changed, committed_value, set_changes_relationship
from .ownership import owned_counters
from .row_locks import lock_tracking
from .shares import (
    ParentRef,
    Share,
    add_into,
    amounts,
    is_new,
    membership,
    parent_ref,
    rolled_up,
    row_id,
    share_change,
)
from .strategy import CounterStrategy, Listener, counters_of

MEMORY = "counters.attribute_memory"

_NOT_SET = object()


@dataclass
class MiddleShown:
    """Where a middle parent (a thread) shows its counts, for its own parent's counters."""

    row_parent: ParentRef  # the parent its row names (None for a new one)
    parent: ParentRef  # the parent memory shows it on now
    #: the rolled-up counters it brought there, when memory moved it
    carried: dict[str, int] = field(default_factory=dict)


@dataclass
class Memory:
    """What this session shows on its parents beyond their rows, since the last flush.

    A persistent parent's change is kept in ``pending`` by its key and shown on
    its loaded copy when there is one; a copy loaded (or reloaded) later gets
    it on load. Nothing is ever read from the database to show a change.
    """

    #: item -> (the share its row holds, the share memory shows for it)
    items: dict[InstanceState, tuple[Share | None, Share | None]] = field(default_factory=dict)
    #: middle parent -> where its row puts it, and where memory shows it
    middles: dict[InstanceState, MiddleShown] = field(default_factory=dict)
    #: (parent class, key) -> counter -> the change not written yet
    pending: dict[tuple[type, Any], dict[str, int]] = field(default_factory=dict)
    #: middle key -> rolled-up changes to a middle not loaded yet (its parent is unknown)
    unrouted: dict[Any, dict[str, int]] = field(default_factory=dict)
    #: persistent copies whose counters show a pending change
    bumped: list[Any] = field(default_factory=list)
    #: middle key -> the object an item names by relationship (maybe not attached yet)
    hints: dict[Any, Any] = field(default_factory=dict)
    #: set while a flush runs: the flush's own key copies are not changes
    flushing: bool = False
    #: set while undoing (expire, refresh, expunge, rollback) or re-attaching: read
    #: nothing from the database, touch only loaded values (``reading_nothing``)
    quiet: bool = False


def _memory(session: Session) -> Memory:
    return session.info.setdefault(MEMORY, Memory())


def _forget(session: Session, *args: Any) -> None:
    session.info.pop(MEMORY, None)


@contextmanager
def reading_nothing(session: Session) -> Iterator[None]:
    """Expire, refresh, expunge, rollback, an object re-attached: these events run where
    no SQL may, so memory is updated from loaded values only; what cannot be shown
    is right after the next flush."""
    memory = _memory(session)
    before, memory.quiet = memory.quiet, True
    try:
        yield
    finally:
        memory.quiet = before


# --- showing a change on the parents -------------------------------------------


def _show_on_copy(session: Session, obj: Any, change: dict[str, int]) -> None:
    """Add ``change`` to the loaded counters of a persistent copy (never flushed)."""
    state = inspect(obj)
    changed_any = False
    for name, amount in change.items():
        if amount and name in state.dict:  # not loaded: it will be, with the pending change
            set_committed_value(obj, name, state.dict[name] + amount)
            changed_any = True
    if changed_any:
        _memory(session).bumped.append(obj)  # the flush replaces it with the row's


def _add(session: Session, cls: type, parent: Any, change: dict[str, int]) -> None:
    """Show a change on a parent given as an object or a key."""
    if parent is None or not any(change.values()):
        return
    if not isinstance(parent, cls):
        parent = new_object(session, cls, parent) or parent
    if isinstance(parent, cls) and is_new(parent):
        # Goes into its INSERT (recomputed at the flush). Only what is loaded: a rollback
        # may be taking the object out of the session while this runs.
        loaded = inspect(parent).dict
        for name, amount in change.items():
            if name in loaded:
                setattr(parent, name, loaded[name] + amount)
        return
    key = row_id(parent) if isinstance(parent, cls) else parent
    add_into(_memory(session).pending.setdefault((cls, key), {}), change)
    copy = parent if isinstance(parent, cls) else _loaded(session, cls, key)
    if copy is not None:
        _show_on_copy(session, copy, change)


def _loaded(session: Session, cls: type, pk: Any) -> Any:
    """The session's object for ``pk`` (pending or in the identity map); never a SELECT."""
    if pk is None:
        return None
    hint = _memory(session).hints.get(pk) if cls in counters_of(session).middles else None
    return hint or new_object(session, cls, pk) or session.identity_map.get(identity_key(cls, pk))


def _middle_shown(session: Session, middle: Any) -> MiddleShown | None:
    """Where memory shows ``middle``; None when its parent is not known without a SELECT."""
    edge = counters_of(session).middle_edge
    assert edge is not None
    shown = _memory(session).middles
    state = inspect(middle)
    if state not in shown:
        if is_new(middle):
            row_parent = None  # counted on its parent once it joins the session
        elif edge.key in state.dict or edge.key in state.committed_state:
            row_parent = state.committed_state.get(edge.key, state.dict.get(edge.key))
        elif _memory(session).quiet or state.session_id != session.hash_key:
            return None  # not readable now (a detached middle still being attached)
        else:
            row_parent = committed_value(middle, edge.key)  # the middle is in the session
        shown[state] = MiddleShown(row_parent, row_parent)
    return shown[state]


def _show_middle_on(session: Session, middle: Any, shown: MiddleShown, parent: ParentRef) -> None:
    """Move ``middle`` (one middle row and what it rolls up) to ``parent`` in memory."""
    if parent == shown.parent:
        return
    counters = counters_of(session)
    edge = counters.middle_edge
    assert edge is not None
    if shown.parent is None or shown.parent == shown.row_parent:
        # Its counts as shown now; later changes to it follow it (_show_on_middle).
        sources = [source for source, _ in edge.rollups()]
        if _memory(session).quiet and any(s not in inspect(middle).dict for s in sources):
            return  # nothing known to move: right after the flush
        shown.carried = {s: getattr(middle, s) for s in sources}
    for target, sign in ((shown.parent, -1), (parent, 1)):
        _add(session, edge.parent, target, membership(counters, shown.carried, sign))
    shown.parent = parent


def _show_on_middle(session: Session, key: Any, change: dict[str, int]) -> None:
    counters = counters_of(session)
    edge = counters.middle_edge
    assert edge is not None
    middle = _loaded(session, edge.child, key)
    _add(session, edge.child, middle if middle is not None else key, change)
    roll = rolled_up(counters, change)
    if not roll:
        return
    sources = {source: change[source] for source, _ in edge.rollups() if change.get(source)}
    shown = _middle_shown(session, middle) if middle is not None else None
    if shown is None:  # its parent is learned when the middle is loaded (_on_load)
        add_into(_memory(session).unrouted.setdefault(key, {}), sources)
        return
    add_into(shown.carried, sources)
    _add(session, edge.parent, shown.parent, roll)


def _on_load(target: Any, context: Any, attrs: Any = None) -> None:
    """A parent loaded or refreshed: show this session's pending change on it again."""
    session = object_session(target)
    if session is None:
        return
    memory = session.info.get(MEMORY)
    if memory is None or memory.flushing:
        return
    key = inspect(target).key
    if key is None:  # merge() of a new object fires "load" before it has a row
        return
    pending = memory.pending.get((type(target), key[1][0]))
    if pending:
        loaded = {n: a for n, a in pending.items() if attrs is None or n in attrs}
        _show_on_copy(session, target, loaded)
    counters = counters_of(session)
    if type(target) in counters.middles and key[1][0] in memory.unrouted:
        with reading_nothing(session):
            shown = _middle_shown(session, target)
        if shown is not None:
            sources = memory.unrouted.pop(key[1][0])
            add_into(shown.carried, sources)
            assert counters.middle_edge is not None
            _add(session, counters.middle_edge.parent, shown.parent, rolled_up(counters, sources))


def _show_move(session: Session, old: Share | None, new: Share | None) -> None:
    if old == new:
        return
    counters = counters_of(session)
    for edge, parent, change in share_change(counters, old, new):
        if edge is counters.main_edge:
            _show_on_middle(session, parent, change)
        else:
            _add(session, edge.parent, parent, change)


# --- what an item would write now ----------------------------------------------


def _row_share(counters: CounterSet, item: Any, *, quiet: bool) -> Share | None:
    """The share the item's row holds (None for a new item, or, reading nothing, unknown)."""
    state = inspect(item)
    if state.key is None:
        return None
    keys = [e.key for e in counters.item_edges]
    sources = [w.source.key for w in counters.weighed]  # type: ignore[union-attr]
    if quiet:
        if any(key not in state.dict for key in (*keys, *sources)):
            return None
        values = [state.committed_state.get(k, state.dict[k]) for k in (*keys, *sources)]
    else:
        values = [committed_value(item, k) for k in (*keys, *sources)]
    return Share(tuple(values[: len(keys)]), counters.weights(values[len(keys) :]))


def _pending_share(
    session: Session, item: Any, row: Share | None, key: str | None, value: Any
) -> Share | None:
    """The share the item would write if the session flushed now, with ``key`` about to
    be set to ``value`` (a relationship wins over its key, as in the flush)."""
    if object_session(item) is not session or inspect(item).deleted:
        return row if inspect(item).key is not None else None
    counters = counters_of(session)
    memory = _memory(session)
    parents = []
    for i, edge in enumerate(counters.item_edges):
        if edge.parent in counters.middles:
            for related in (item.__dict__.get(edge.relationship), value):
                if isinstance(related, edge.parent) and row_id(related) is not None:
                    memory.hints[row_id(related)] = related
        if key == edge.relationship and (
            set_changes_relationship(item, key, value) or not changed(item, edge.key)
        ):
            parent: Any = value
        elif key == edge.relationship:  # set back to the parent it had: its key's change stands
            parent = item.__dict__.get(edge.key)
        elif key == edge.key and not changed(item, edge.relationship):
            parent = value
        else:
            parent = written_parent(item, edge)
            if parent is UNCHANGED:
                parent = row.parents[i] if row is not None else None
        parents.append(parent_ref(parent))
    weights = []
    for i, weighed in enumerate(counters.weighed):
        source = weighed.source.key  # type: ignore[union-attr]
        if key == source:
            weights.append(weighed.amount(value))
        elif changed(item, source) or row is None:
            weights.append(weighed.amount(item.__dict__.get(source)))
        else:
            weights.append(row.weights[i])
    return Share(tuple(parents), tuple(weights))


def _resync(
    session: Session | None,
    item: Any,
    key: str | None = None,
    value: Any = _NOT_SET,
) -> None:
    """Make memory show the share ``item`` would write now.

    Under ``reading_nothing`` only loaded values are read; what cannot be shown
    is right after the next flush.
    """
    if session is None:
        return
    memory = _memory(session)
    if memory.flushing:
        return
    state = inspect(item)
    # Reading the row's values may load them: never flush half a change to do it (a
    # pending delete flushed here would be cancelled by the append that is running).
    with session.no_autoflush:
        if state in memory.items:
            row, shown = memory.items[state]
        else:
            try:
                row = _row_share(counters_of(session), item, quiet=memory.quiet)
            except ObjectDeletedError:
                return  # its row is gone (another delete): the flush will say so, not memory
            if row is None and state.key is not None:
                return  # reading nothing, and nothing shown for it yet: nothing to take back
            shown = row
        now = _pending_share(session, item, row, key, value)
        _show_move(session, shown, now)
    memory.items[state] = (row, now)


def _resync_middle(session: Session, middle: Any, parent: Any = _NOT_SET) -> None:
    """Show ``middle`` (with what it rolls up) on the parent it would be written with."""
    if _memory(session).flushing or inspect(middle).deleted:
        return  # a deleted row's attributes are written nowhere
    edge = counters_of(session).middle_edge
    assert edge is not None
    with session.no_autoflush:
        try:
            shown = _middle_shown(session, middle)
            ref = written_parent_ref(middle, edge) if parent is _NOT_SET else parent_ref(parent)
            assert shown is not None  # not reading_nothing: the row's parent is read if need be
            _show_middle_on(session, middle, shown, ref)
        except ObjectDeletedError:
            return  # its row is gone (another delete): the flush will say so, not memory


def _take_back_middle(session: Session, middle: Any, *, leaving: bool) -> None:
    """The middle's unflushed move was discarded (expired, refreshed) or leaves the
    session with it: show it on its row's parent again, reading nothing."""
    memory = session.info.get(MEMORY)
    if memory is None or memory.flushing:  # the flush expires server defaults: not a discard
        return
    shown = memory.middles.get(inspect(middle))
    if shown is None:
        return
    edge = counters_of(session).middle_edge
    assert edge is not None
    if leaving or not (changed(middle, edge.relationship) or changed(middle, edge.key)):
        with reading_nothing(session):
            _show_middle_on(session, middle, shown, shown.row_parent)
    if leaving:
        del memory.middles[inspect(middle)]


# --- the listeners -------------------------------------------------------------


def counted_attribute_set(key: str) -> Callable[[Any, Any, Any, Any], None]:
    """The ``set`` listener of the counted attribute ``key``: an item's path, key or
    weighed column, or a middle parent's path or key. (The event's initiator does not
    name it: a set made through a collection's backref names the collection.)"""

    def attribute_set(target: Any, value: Any, oldvalue: Any, initiator: Any) -> None:
        session = object_session(target)
        if session is None:
            return
        counters = counters_of(session)
        if isinstance(target, counters.item):
            _resync(session, target, key, value)
            return
        edge = counters.middle_edge
        assert edge is not None
        if key == edge.relationship:
            if set_changes_relationship(target, key, value) or not changed(target, edge.key):
                _resync_middle(session, target, value)  # the relationship wins over the key
            else:  # set back to the parent it had: its key's change stands
                _resync_middle(session, target, target.__dict__.get(edge.key))
        elif not changed(target, edge.relationship):
            _resync_middle(session, target, value)

    attribute_set.__name__ = f"{key}_set"
    return attribute_set


def object_joined(session: Session, obj: object) -> None:
    """transient -> pending: its share starts to show; a new parent starts from zero."""
    counters = counters_of(session)
    if isinstance(obj, counters.item):
        _resync(session, obj)
        return
    if type(obj) in counters.parents:
        _start_from_zero(session, obj)
    if type(obj) in counters.middles:
        _resync_middle(session, obj)


def object_returned(session: Session, obj: object) -> None:
    """detached -> persistent (``session.add`` of a detached object): its unflushed change
    shows again, from loaded values only (its related objects are still being attached)."""
    if isinstance(obj, counters_of(session).item):
        with reading_nothing(session):
            _resync(session, obj)


def _start_from_zero(session: Session, parent: Any) -> None:
    """A new parent's counters belong to the strategy: zero, plus what memory shows on it
    already (items and middle parents that joined the session before it did)."""
    counters = counters_of(session)
    memory = _memory(session)
    start_at_zero(parent, counters.columns(type(parent)))
    ref = parent_ref(parent)
    for i, edge in enumerate(counters.item_edges):
        if edge.parent is type(parent):
            for _row, shown in memory.items.values():
                if shown is not None and shown.parents[i] is not None and shown.parents[i] == ref:
                    _add_in_memory(parent, amounts(counters, edge, shown))
    middle_edge = counters.middle_edge
    if middle_edge is not None and middle_edge.parent is type(parent):
        for placed in memory.middles.values():
            if placed.parent is parent:
                _add_in_memory(parent, membership(counters, placed.carried))


def _add_in_memory(parent: Any, change: dict[str, int]) -> None:
    for name, value in change.items():
        setattr(parent, name, getattr(parent, name) + value)


def object_left(session: Session, obj: object) -> None:
    """pending -> transient, persistent -> detached: its unflushed change leaves with it."""
    memory = session.info.get(MEMORY)
    if memory is None:
        return
    counters = counters_of(session)
    state = inspect(obj)
    if isinstance(obj, counters.item) and state in memory.items:
        row, shown = memory.items.pop(state)
        with reading_nothing(session):
            _show_move(session, shown, row)
    elif type(obj) in counters.middles:
        _take_back_middle(session, obj, leaving=True)


def changes_discarded(target: Any, *args: Any) -> None:
    """``expire`` or ``refresh`` (of some attributes or all) of an item or middle parent:
    the discarded attributes' unflushed changes leave memory."""
    session = object_session(target) if target is not None else None
    if session is None:
        return
    if isinstance(target, counters_of(session).item):
        memory = session.info.get(MEMORY)
        if memory is not None and inspect(target) in memory.items:  # else: it shows its row
            with reading_nothing(session):
                _resync(session, target)
    else:
        _take_back_middle(session, target, leaving=False)


def flush_starting(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    """Write what the flush will write (never the memory), then let the flush run.

    Memory is dropped first: the parents' counters come back from the rows the
    counting UPDATEs return, or are read again, so memory never outlives a flush.
    """
    parents = counters_of(session).parents
    kept = at_commit.at_commit(session)  # the rows change at the commit: memory is right
    for parent in _memory(session).bumped if not kept else ():
        state = inspect(parent)
        if state.session_id == session.hash_key and state.key and not state.deleted:
            session.expire(parent, list(parents[type(parent)]))
    session.info[MEMORY] = Memory(flushing=True)
    with session.no_autoflush:
        count_flush(session, show=False)


def build(counters: CounterSet) -> CounterStrategy:
    tracked = [
        Listener(getattr(cls, name), "set", counted_attribute_set(name))
        for cls in counters.children
        for name in counters.tracked(cls)
    ]
    return CounterStrategy(
        name="attribute",
        counters=counters,
        listeners=(
            *guards(),
            *tracked,
            Listener(Session, "transient_to_pending", object_joined),
            Listener(Session, "detached_to_persistent", object_returned),
            Listener(Session, "pending_to_transient", object_left),
            Listener(Session, "persistent_to_detached", object_left),
            *(
                Listener(cls, event, changes_discarded)
                for cls in counters.children
                for event in ("expire", "refresh")
            ),
            *(
                Listener(cls, event, _on_load)
                for cls in counters.lock_order
                for event in ("load", "refresh")
            ),
            Listener(Session, "before_flush", flush_starting),
            *flush_check(counters),
            *lock_tracking(counters),
            Listener(Session, "after_flush_postexec", _forget),
            Listener(Session, "after_commit", _forget),
            Listener(Session, "after_soft_rollback", _forget),
            *at_commit.kept_for_commit(counters),
            *owned_counters(counters),
            *bookkeeping(counters),
        ),
    )
