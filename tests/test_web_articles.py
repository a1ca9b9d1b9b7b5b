"""Articles in the browser: search, progress through the loop, paging; the article's claims and filters."""

from __future__ import annotations

from tests.factories import link_claim, make_article
from tests.test_web import sign_in


def test_search_finds_by_title_text_and_url_and_shows_progress(client, reviewer):
    first = make_article(title="Lighthouse fees", url="https://news.example/lighthouse")
    make_article(title="Clinic plans")
    queued = [c for c in first.claims if c.status == "queued"]
    link_claim(queued[0], task_id=900)
    sign_in(client, reviewer)
    page = client.get("/articles?q=LIGHTHOUSE").get_data(as_text=True)
    assert "Lighthouse fees" in page and "Clinic plans" not in page
    assert "<th>in Label Studio</th>" in page
    row = page[page.index("Lighthouse fees") :].split("</tr>")[0]
    cells = [c.split("</td>")[0] for c in row.split("<td>")[1:]]
    # published date, claims, then queued, in Label Studio, annotated, in review, verified, published
    assert cells[2:] == [str(len(queued)), "1", "0", "0", "0", "0"]
    assert "Lighthouse fees" in client.get("/articles?q=news.example/lighthouse").get_data(as_text=True)
    assert "No article matches" in client.get("/articles?q=%25_nothing").get_data(as_text=True)


def test_annotators_see_no_progress(client, annotator):
    make_article(title="Harbour fees")
    sign_in(client, annotator)
    page = client.get("/articles").get_data(as_text=True)
    assert "Harbour fees" in page and "in Label Studio" not in page


def test_the_article_lists_its_claims_with_speaker_score_and_task_and_filters_them(client, reviewer):
    article = make_article()
    claim = next(c for c in article.claims if c.speaker)
    link_claim(claim, task_id=901, project_id=4)
    sign_in(client, reviewer)
    page = client.get(f"/articles/{article.id}").get_data(as_text=True)
    assert "/projects/4/data?task=901" in page and claim.speaker in page and 'class="legend"' in page
    only = client.get(f"/articles/{article.id}?speaker={claim.speaker}").get_data(as_text=True)
    table = only[only.index("<h2>Claims</h2>") :]
    assert table.count('href="/claims/') == sum(1 for c in article.claims if c.speaker == claim.speaker)
