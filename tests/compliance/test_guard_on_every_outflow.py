"""The asset lock cannot be bypassed: every entry that sends an issuer's money out has a guard decision.

Money leaves an issuer when an entry credits `cash_at_bank` or
`stripe_clearing` to someone outside. Three tests hold that to the code:

1. every ledger entry kind is classified here, as an outflow the guard must
   judge or as something else (and why), so a new kind fails until someone
   decides which it is;
2. a reading of the source: every place that posts an entry of an outflow
   kind crediting the issuer's money calls the guard (`asset_lock_judge`,
   directly or through a function that does) in the same function, and no
   other kind credits that money, but the few listed with their reason;
3. every outflow path run for real (bank and card refunds, a refund made at
   Stripe, interest and principal payouts, distributions): afterwards each
   entry crediting the issuer's money has the allow decision that judged
   it, for at least its amount.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from collections import defaultdict
from pathlib import Path

import pytest
import time_machine
from django.db.models import Sum
from rest_framework.test import APIClient

from compliance.models import Decision, Distribution, Outcome
from investments.interest import add_months
from investments.models import Payout, PayoutBatch, Refund
from investments.services.interest_runs import interest_run_execute
from ledger.models import EntryKind, LedgerEntry, LedgerPosting

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
APPS = ("bondplatform", "people", "issuers", "ledger", "compliance", "investments")
# The issuer's own money: what an outflow credits.
OUTFLOW_ACCOUNTS = ("cash_at_bank", "stripe_clearing")

# 1. Every kind of entry, and whether the guard must judge it.
GUARDED = {
    EntryKind.PAYOUT: "interest and principal sent to holders (investments/services/payouts.py)",
    EntryKind.SUBSCRIPTION_REFUND: "subscription money sent back (investments/payments/refunds.py, card.py)",
    EntryKind.DISTRIBUTION: "money paid to anyone else (compliance/distributions.py)",
}
NOT_OUTFLOWS = {
    EntryKind.SUBSCRIPTION_PAYMENT: "money coming in",
    EntryKind.ALLOTMENT: "held money becomes principal: between two liabilities",
    EntryKind.INTEREST_ACCRUAL: "interest becomes owed: no cash moves",
    EntryKind.INTEREST_PAYMENT: "interest credited to a holder's payable account; the cash leaves by a payout",
    EntryKind.INTEREST_WAIVER: "memorandum accounts only",
    EntryKind.INTEREST_REINVESTMENT: "interest added to principal: no cash moves",
    EntryKind.TAX_WITHHOLDING: "tax becomes owed to HMRC: no cash moves",
    EntryKind.REDEMPTION: "principal becomes owed back; the cash leaves by a payout",
    EntryKind.FEE: "Stripe's fee, taken by Stripe from the charge before the issuer holds it: no one at the "
    "issuer decides to pay it, and reconciliation checks it against Stripe's balance transaction",
    EntryKind.TRANSFER: "between the issuer's own accounts (Stripe paying out to the bank)",
    EntryKind.REVERSAL: "undoes a wrong entry; it pays no one",
    EntryKind.ADJUSTMENT: "a correction between the issuer's own accounts",
}
# Kinds above that may credit the issuer's money without a guard decision.
CREDITS_WITHOUT_GUARD = {EntryKind.FEE, EntryKind.TRANSFER, EntryKind.REVERSAL}


def test_every_entry_kind_is_classified():
    assert not set(GUARDED) & set(NOT_OUTFLOWS)
    unclassified = set(EntryKind.values) - set(GUARDED) - set(NOT_OUTFLOWS)
    assert not unclassified, (
        f"new entry kinds {sorted(unclassified)}: say here whether they send money out (GUARDED, and the "
        "code that posts them calls compliance.asset_lock.asset_lock_judge) or not (NOT_OUTFLOWS, and why)"
    )


# 2. The source.


def _modules() -> list[Path]:
    return sorted(
        path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
        # The posting primitives themselves (entry_post, entries_post, entry_reverse) live here.
        and path != ROOT / "ledger" / "services.py"
    )


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _calls(node: ast.AST) -> set[str]:
    return {name for call in ast.walk(node) if isinstance(call, ast.Call) and (name := _called_name(call))}


def _functions(trees: dict[Path, ast.Module]):
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                yield path, node


def _guards(trees: dict[Path, ast.Module]) -> set[str]:
    """asset_lock_judge, and every function that calls it, or calls one that does (by name)."""
    guards = {"asset_lock_judge"}
    while True:
        more = {fn.name for _, fn in _functions(trees) if _calls(fn) & guards} - guards
        if not more:
            return guards
        guards |= more


def _kinds(node: ast.expr | None) -> set[str] | None:
    """The entry kinds an expression can be, or None if the source does not say."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "EntryKind":
        return {EntryKind[node.attr].value}
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        body, orelse = _kinds(node.body), _kinds(node.orelse)
        return None if body is None or orelse is None else body | orelse
    return None


def _credits_the_issuers_money(postings: list[ast.Call]) -> bool:
    for posting in postings:
        if len(posting.args) < 2:
            return True  # cannot tell: assume it does
        account, amount = ast.unparse(posting.args[0]), posting.args[1]
        credit = isinstance(amount, ast.UnaryOp) and isinstance(amount.op, ast.USub)
        credit |= isinstance(amount, ast.Constant) and isinstance(amount.value, int) and amount.value < 0
        credit |= not isinstance(amount, ast.UnaryOp | ast.Constant | ast.Name | ast.Attribute)
        if credit and re.search(r"cash_at_bank|stripe_clearing|clearing", account, re.I):
            return True
    return False


def _posting_sites():
    """(where, kinds, credits the issuer's money, names called in the enclosing function) for each
    `entry_post(...)` and `EntrySpec(...)` in the apps."""
    trees = {path: ast.parse(path.read_text(), str(path)) for path in _modules()}
    for path, function in _functions(trees):
        for call in ast.walk(function):
            if not (isinstance(call, ast.Call) and _called_name(call) in {"entry_post", "EntrySpec"}):
                continue
            keywords = {k.arg: k.value for k in call.keywords}
            postings = keywords.get("postings")
            if isinstance(postings, ast.List):
                posting_calls = [p for p in postings.elts if isinstance(p, ast.Call)]
            else:  # built up elsewhere in the function: every Posting(...) it makes
                posting_calls = [
                    c for c in ast.walk(function) if isinstance(c, ast.Call) and _called_name(c) == "Posting"
                ]
            where = f"{path.relative_to(ROOT)}:{call.lineno} in {function.name}()"
            yield (
                where,
                _kinds(keywords.get("kind")),
                _credits_the_issuers_money(posting_calls),
                _calls(function),
            )


def test_every_place_that_posts_an_outflow_calls_the_guard():
    trees = {path: ast.parse(path.read_text(), str(path)) for path in _modules()}
    guards = _guards(trees)
    sites = list(_posting_sites())
    assert len(sites) >= 8, "found too few posting sites: has the way entries are posted changed?"
    problems = []
    for where, kinds, credits, called in sites:
        if kinds is None:
            problems.append(
                f"{where}: name the entry kind as EntryKind.<KIND>, so that this test can judge it"
            )
            continue
        for kind in kinds:
            if kind not in GUARDED and kind not in NOT_OUTFLOWS:
                problems.append(f"{where}: posts {kind!r}, which is not classified above")
            elif credits and kind in GUARDED and not called & guards:
                problems.append(f"{where}: posts an outflow ({kind}) without calling the asset-lock guard")
            elif credits and kind in NOT_OUTFLOWS and kind not in CREDITS_WITHOUT_GUARD:
                problems.append(
                    f"{where}: credits the issuer's money as {kind!r}, which is not an outflow kind"
                )
    assert not problems, "\n".join(problems)
    # The paths this file knows (a sanity check of the reading itself).
    guarded = {
        where.split(" in ")[1] for where, kinds, credits, called in sites if credits and called & guards
    }
    assert {"_payout_batch_mark_sent()", "_refund_mark_sent()", "distribution_request()"} <= guarded


# 3. Every path, run.


def _outflows() -> list[tuple[LedgerEntry, int]]:
    """Every entry that credits the issuer's money, but Stripe's fees and own transfers, with the amount."""
    credited = (
        LedgerPosting.objects.filter(account__code__in=OUTFLOW_ACCOUNTS, amount_pence__lt=0)
        .values("entry_id")
        .annotate(total=Sum("amount_pence"))
    )
    amounts = {row["entry_id"]: -row["total"] for row in credited}
    entries = LedgerEntry.objects.filter(pk__in=amounts).exclude(kind__in=CREDITS_WITHOUT_GUARD)
    return [(entry, amounts[entry.pk]) for entry in entries.order_by("issuer_id", "sequence")]


def _allowed(**subject) -> list[Decision]:
    return list(Decision.objects.filter(rule="asset_lock", outcome=Outcome.ALLOW, **subject))


def assert_every_outflow_was_judged():
    outflows = _outflows()
    assert outflows, "nothing left the bank: the scenario did not run"
    by_batch: dict[tuple[int, str], int] = defaultdict(int)
    for entry, amount in outflows:
        key = entry.idempotency_key
        if refund := re.fullmatch(r"refund:(\d+):sent", key):
            decisions = _allowed(subject_type="refund", subject_id=refund[1])
            assert len(decisions) == 1, (
                f"refund entry #{entry.sequence} ({key}) has {len(decisions)} decisions"
            )
            assert decisions[0].context["amount_pence"] == amount
        elif payout := re.fullmatch(r"payout:(\d+)", key):
            sent = Payout.objects.get(pk=payout[1])
            purpose = "bond_interest" if sent.kind == "interest" else "bond_principal"
            by_batch[(sent.batch_id, purpose)] += amount
        elif key.startswith("distribution:"):
            decision = Distribution.objects.get(ledger_entry=entry).decision
            assert (decision.rule, decision.outcome) == ("asset_lock", Outcome.ALLOW)
            assert decision.context["amount_pence"] == amount
        else:
            pytest.fail(
                f"entry #{entry.sequence} ({entry.kind}, {key}) sends money out, and this test does not know "
                "its guard decision: tie it to one here"
            )
    for (batch_id, purpose), amount in by_batch.items():
        decisions = [
            d
            for d in _allowed(subject_type="payoutbatch", subject_id=str(batch_id))
            if d.context["purpose"] == purpose
        ]
        assert len(decisions) == 1, f"batch {batch_id} ({purpose}) has {len(decisions)} decisions"
        assert decisions[0].context["amount_pence"] == amount


def test_every_bank_path_that_sends_money_out_left_a_guard_decision(
    society,
    officer,
    resident,
    make_user,
    make_issue,
    subscribe,
    pay_by_bank_transfer,
    api_client_for,
    allotted,
    ask_for_interest,
):
    # A refund sent by hand: a resident cancels within cooling-off.
    issue = make_issue(society, officer)
    sub = subscribe(resident, issue, "250.00").json()
    pay_by_bank_transfer(officer, sub)
    assert api_client_for(resident).post(f"/api/v1/subscriptions/{sub['id']}/cancel/").status_code == 200
    refund = Refund.objects.get(subscription_id=sub["id"])
    assert api_client_for(officer).post(f"/api/v1/refunds/{refund.pk}/mark-sent/").status_code == 200

    # Interest, then maturity (principal and the last interest), paid in batches.
    ben = make_user("ben_bondholder")
    bonds = allotted(society, officer, ben)
    coupon = add_months(bonds.allotted_on, 12)
    ask_for_interest(officer, bonds, coupon, on=coupon)
    interest_run_execute(run_id=bonds.interest_runs.get().pk)
    maturity = add_months(bonds.allotted_on, 36)
    with time_machine.travel(dt.datetime.combine(maturity, dt.time(12), tzinfo=dt.UTC)):
        matured = api_client_for(officer).post(f"/api/v1/issues/{bonds.pk}/mature/")
        assert matured.status_code == 200, matured.content
    for batch in PayoutBatch.objects.filter(issuer=society):
        sent = api_client_for(officer).post(f"/api/v1/payout-batches/{batch.pk}/mark-sent/")
        assert sent.status_code == 200, sent.content
    assert {p.kind for p in Payout.objects.all()} >= {"interest", "maturity"}

    # A distribution.
    paid_out = api_client_for(officer).post(
        f"/api/v1/issuers/{society.pk}/distributions/",
        {
            "kind": "consideration",
            "recipient_name": "Hall Builders Ltd",
            "invoice_reference": "INV-88",
            "amount": "300.00",
            "purpose": "Repairs to the hall",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="hall-repairs",
    )
    assert paid_out.status_code == 201, paid_out.content

    kinds = {entry.kind for entry, _ in _outflows()}
    assert kinds == {"subscription_refund", "payout", "distribution"}
    assert_every_outflow_was_judged()


def test_every_card_path_that_sends_money_out_left_a_guard_decision(
    stripe_on,
    society,
    officer,
    resident,
    make_user,
    django_capture_on_commit_callbacks,
    make_issue,
    card_subscription,
    pay_by_card,
    api_client_for,
    stripe_to_dict,
    fake_stripe,
    post_stripe_event,
    stripe_event,
):
    issue = make_issue(society, officer)
    # A card refund that Stripe takes at once: the resident cancels within cooling-off.
    cancelled = card_subscription(resident, issue, "250.00")
    pay_by_card(stripe_on, cancelled)
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            api_client_for(resident).post(f"/api/v1/subscriptions/{cancelled['id']}/cancel/").status_code
            == 200
        )
    # A refund made from Stripe's dashboard, which Stripe then tells us about.
    ivy = make_user("ivy_investor")
    refunded = card_subscription(ivy, issue, "400.00")
    pay_by_card(stripe_on, refunded)
    dashboard = stripe_to_dict(
        fake_stripe(stripe_on).v1.refunds.create(
            params={"payment_intent": refunded["payment"]["payment_intent"]}
        )
    )
    assert (
        post_stripe_event(APIClient(), stripe_event("refund.created", dashboard)).json()["outcome"]
        == "processed"
    )

    assert Refund.objects.filter(status="sent").count() == 2
    assert {entry.kind for entry, _ in _outflows()} == {"subscription_refund"}
    assert_every_outflow_was_judged()


def test_a_refund_above_what_was_received_never_leaves(
    society, officer, resident, make_issue, subscribe, pay_by_bank_transfer, api_client_for
):
    issue = make_issue(society, officer)
    sub = subscribe(resident, issue, "250.00").json()
    pay_by_bank_transfer(officer, sub)
    api_client_for(resident).post(f"/api/v1/subscriptions/{sub['id']}/cancel/")
    refund = Refund.objects.get(subscription_id=sub["id"])
    Refund.objects.filter(pk=refund.pk).update(amount_pence=250_01)  # a bug, or a hand in the database
    before = LedgerEntry.objects.filter(issuer=society).count()
    response = api_client_for(officer).post(f"/api/v1/refunds/{refund.pk}/mark-sent/")
    assert response.status_code == 422 and response.json()["code"] == "asset_lock_violation"
    assert LedgerEntry.objects.filter(issuer=society).count() == before
    refund.refresh_from_db()
    assert refund.status == "pending"
    denied = Decision.objects.get(rule="asset_lock", outcome=Outcome.DENY)
    assert (denied.subject_type, denied.subject_id, denied.context["owed_pence"]) == (
        "refund",
        str(refund.pk),
        250_00,
    )
