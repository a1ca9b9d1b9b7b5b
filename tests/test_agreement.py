"""Agreement: per-claim kinds and Krippendorff's alpha, checked against values computed by hand."""

from __future__ import annotations

import pytest

from tests.factories import make_article
from tests.test_review import labelled
from workbench.review.agreement import Vote, alpha, classify


@pytest.mark.parametrize(
    ("verdicts", "kind"),
    [
        (["True", "True"], "unanimous"),
        (["True", "False"], "split"),
        (["True", "True", "False"], "majority"),
        (["True", "False", "Half true"], "split"),
        (["True", "True", "False", "False"], "split"),
        (["True"], None),
        ([], None),
    ],
)
def test_claim_agreement_kinds(verdicts, kind):
    assert classify(verdicts)[0] == kind


def votes(table: dict[str, list[str | None]]) -> list[Vote]:
    """Build votes from {annotator: [verdict per claim]} (None = did not label that claim)."""
    out = []
    for n, (_, row) in enumerate(sorted(table.items())):
        out += [Vote(claim_id=j, annotator=n, verdict=v) for j, v in enumerate(row) if v is not None]
    return out


def test_nominal_alpha_by_hand():
    # Coincidences: o(T,T)=4, o(F,F)=2, o(T,F)=o(F,T)=1; n_T=5, n_F=3, n=8.
    # D_o = 2/8; D_e = 2*5*3/(8*7) = 30/56; alpha = 1 - (2/8)/(30/56) = 8/15.
    table = {"a": ["True", "True", "False", "False"], "b": ["True", "True", "False", "True"]}
    assert alpha(votes(table), "nominal") == pytest.approx(8 / 15, abs=1e-4)


def test_ordinal_alpha_by_hand():
    # Scale True=0, Mostly true=1, Half true=2. Units: (0,0), (1,2), (2,2): n_0=2, n_1=1, n_2=3, n=6.
    # delta^2(c,k) = (sum_{g=c..k} n_g - (n_c+n_k)/2)^2: d(0,1)=2.25, d(0,2)=12.25, d(1,2)=4.
    # D_o = (1*4 + 1*4)/6 = 4/3; D_e = 2*(2*1*2.25 + 2*3*12.25 + 1*3*4)/(6*5) = 6; alpha = 1 - (4/3)/6 = 7/9.
    table = {"a": ["True", "Mostly true", "Half true"], "b": ["True", "Half true", "Half true"]}
    assert alpha(votes(table), "ordinal") == pytest.approx(7 / 9, abs=1e-4)


def test_ordinal_alpha_leaves_out_ratings_off_the_scale():
    table = {
        "a": ["True", "Mostly true", "Half true", "Misleading"],
        "b": ["True", "Half true", "Half true", "Unverifiable"],
    }
    assert alpha(votes(table), "ordinal") == pytest.approx(7 / 9, abs=1e-4)


def test_perfect_agreement_and_undefined_cases():
    assert alpha(votes({"a": ["True", "False"], "b": ["True", "False"]}), "nominal") == 1.0
    assert alpha(votes({"a": ["True", "True"], "b": ["True", "True"]}), "nominal") is None  # one value only
    assert alpha(votes({"a": ["True", None], "b": [None, "False"]}), "nominal") is None  # nothing pairable
    assert alpha(votes({"a": ["True", "False"]}), "nominal") is None


def test_missing_values_are_allowed():
    # Three annotators, not everyone on every claim; claim 2 has a single vote and is not pairable.
    # Pairable: claim0 (T,T,T) adds 6 ordered pairs weighted 1/(3-1): o(T,T)=3; claim1 (F,F): o(F,F)=2;
    # claim3 (T,F): o(T,F)=o(F,T)=1. n_T=4, n_F=3, n=7; D_o=2/7; D_e=2*4*3/(7*6)=4/7; alpha=1-(2/7)/(4/7)=1/2.
    table = {
        "a": ["True", "False", "True", "True"],
        "b": ["True", "False", None, "False"],
        "c": ["True", None, None, None],
    }
    assert alpha(votes(table), "nominal") == pytest.approx(1 / 2, abs=1e-4)


def test_agreement_report_over_the_api(client, reviewer):
    article = make_article()
    claims = [c for c in article.claims if c.checkworthy][:4]
    table = [["True", "True"], ["True", "True"], ["False", "False"], ["False", "True"]]
    for claim, verdicts in zip(claims, table, strict=True):
        labelled(client, claim, verdicts, users=[41, 42])
    body = client.get("/api/v1/review/agreement", headers=reviewer.headers).json
    assert body["alpha_nominal"] == pytest.approx(8 / 15, abs=1e-4)
    assert body["claims_by_agreement"] == {"unanimous": 3, "majority": 0, "split": 1}
    by_annotator = {a["annotator_ls_id"]: a for a in body["annotators"]}
    assert by_annotator[41]["agreement_rate"] == 0.75 and by_annotator[42]["claims_shared"] == 4
    queue = client.get("/api/v1/review/queue", headers=reviewer.headers).json
    assert queue["items"][0]["agreement"] == "split"
