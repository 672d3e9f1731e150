from kb_builder.analysis import normalize, tokens


def test_chinese_is_segmented_into_words():
    assert "饮水机" in tokens("饮水机坏了")


def test_traditional_and_simplified_give_the_same_terms():
    assert tokens("飲水機壞了，不出熱水") == tokens("饮水机坏了，不出热水")
    assert tokens("報銷單據被退回") == tokens("报销单据被退回")


def test_full_width_letters_and_digits_fold_to_half_width():
    assert normalize("ＶＰＮ１２３") == "vpn123"
    assert tokens("ＶＰＮ") == tokens("vpn")


def test_english_is_lower_cased_and_stemmed():
    assert tokens("Passwords Resetting") == tokens("password reset")


def test_it_survives_the_stop_list():
    # jieba's own stop list drops "it", which loses "IT服务台".
    assert "it" in tokens("IT服务台")


def test_mixed_chinese_and_english_in_one_text():
    terms = tokens("VPN连不上，找IT服务台 reset password")
    assert {"vpn", "连不上", "it", "服务台", "reset", "password"} <= set(terms)


def test_punctuation_and_stop_words_are_dropped():
    assert tokens("的了吗？！,.") == []
    assert "the" not in tokens("the printer")
