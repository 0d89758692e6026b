"""Chinese captions: the script the tag asks for, numbers as said, cue rules for characters."""
# ruff: noqa: RUF001  (Chinese test text: its full-width punctuation is the point)

from __future__ import annotations

import pytest

from ingest.captions import asr, chinese
from ingest.captions.building import CHINESE, LATIN, build_cues, cue_style
from ingest.captions.files import Word, validate_cues
from ingest.captions.text import CLAUSE_END, SENTENCE_END

TRADITIONAL = "我們在發展軟體，頭髮乾燥。"


@pytest.mark.parametrize(("tag", "expected"), [
    ("zh", "我们在发展软体，头发干燥。"), ("zh-CN", "我们在发展软体，头发干燥。"),
    ("zh-Hans", "我们在发展软体，头发干燥。"), ("zh-SG", "我们在发展软体，头发干燥。"),
])
def test_simplified_tags_get_simplified_characters(tag: str, expected: str) -> None:
    assert chinese.convert_text(TRADITIONAL, tag) == expected


@pytest.mark.parametrize("tag", ["zh-TW", "zh-Hant", "zh-HK"])
def test_traditional_tags_get_traditional_characters(tag: str) -> None:
    converted = chinese.convert_text("我们在发展，头发干燥。", tag)
    assert converted.startswith("我們在發展，")
    assert "頭髮" in converted or "頭髮" in converted.replace("头", "頭")


def test_other_languages_are_untouched() -> None:
    assert chinese.convert_text("Über 發展", "de") == "Über 發展"
    assert chinese.conversion("en") is None


def test_numbers_stay_as_they_were_said() -> None:
    for text in ("二〇二四年", "2024年", "三点五", "3.5%", "第十二届", "一千二百", "1,200人"):
        assert chinese.convert_text(text, "zh") == text
    for text in ("二〇二四年", "2024年", "3.5%", "一千二百", "1,200人"):
        assert chinese.convert_text(text, "zh-TW") == text
    assert chinese.convert_text("三点五", "zh-TW") == "三點五"  # 点 is written 點 there
    assert chinese.convert_text("兩千", "zh") == "两千"  # the character changes, not the number


def test_words_keep_their_timings_through_conversion() -> None:
    words = [Word("我們", 0.0, 0.4), Word("發", 0.4, 0.6), Word("展", 0.6, 0.8),
             Word("2024", 0.8, 1.2), Word("年。", 1.2, 1.5)]
    converted = chinese.convert_words(words, "zh-CN")
    assert [w.word for w in converted] == ["我们", "发", "展", "2024", "年。"]
    assert [(w.start, w.end) for w in converted] == [(w.start, w.end) for w in words]


def test_chinese_text_gets_chinese_punctuation() -> None:
    # as Whisper base writes it: ASCII marks right after Chinese characters
    assert chinese.convert_text("谢谢大家,我们下午再见.", "zh") == "谢谢大家，我们下午再见。"
    assert chinese.convert_text("你好!真的吗?注意:一;二", "zh-TW") == "你好！真的嗎？注意：一；二"
    for text in ("1,200人", "3.5%", "3:30开始", "Podium, 很好", "第3.2节", "等等...", "是3,000"):
        assert chinese.convert_text(text, "zh") == text
    assert chinese.convert_text("大会,Podium.", "zh") == "大会，Podium."
    assert chinese.convert_text("Hello, 世界.", "en") == "Hello, 世界."  # not Chinese: as is
    words = [Word("谢谢", 0.0, 0.4), Word("大家,", 0.4, 0.8), Word("再见.", 0.8, 1.2)]
    assert [w.word for w in chinese.convert_words(words, "zh")] == ["谢谢", "大家，", "再见。"]


def test_glossary_terms_keep_their_spelling_in_their_own_script() -> None:
    # OpenCC alone makes the given name 乾 "dry" (干) and the surname 余 "surplus" (餘)
    assert chinese.convert_text("我是李乾。", "zh") == "我是李干。"
    assert chinese.convert_text("余秋雨说", "zh-TW") == "餘秋雨說"
    glossary = ["李乾", "余秋雨", "台北", "张伟", "Podium"]
    assert chinese.convert_text("我是李乾。", "zh", glossary) == "我是李乾。"
    assert chinese.convert_text("我是李幹。", "zh", glossary) == "我是李乾。"  # heard traditional
    assert chinese.convert_text("余秋雨说台北", "zh-TW", glossary) == "余秋雨說台北"
    assert chinese.convert_text("台北", "zh-Hant", glossary) == "台北"
    # a term in the other script is converted with the rest
    assert chinese.convert_text("张伟说", "zh-TW", glossary) == "張偉說"
    assert chinese.convert_text("張偉說", "zh", ["張偉"]) == "张伟说"
    assert chinese.convert_text("余秋雨 Podium", "de", glossary) == "余秋雨 Podium"


def test_names_heard_with_other_characters_of_the_same_sound_follow_the_glossary() -> None:
    glossary = ["李乾", "余秋雨", "欧阳娜娜", "张伟", "Podium", "乾"]
    # as Whisper base wrote these names (李前: same syllables and tones as 李乾)
    assert chinese.convert_text("下面请李前老师介绍", "zh", glossary) == "下面请李乾老师介绍"
    assert chinese.convert_text("於秋雨说", "zh-TW", glossary) == "余秋雨說"
    assert chinese.convert_text("请张玮和欧阳娜娜上台", "zh", glossary) == "请张伟和欧阳娜娜上台"
    assert chinese.convert_text("張偉說", "zh-TW", glossary) == "張偉說"  # the term converted
    # another tone, another syllable, a one-character term, a Latin term: left alone
    untouched = "李倩和黎前在前面，张维也在，我们干杯"
    assert chinese.convert_text(untouched, "zh", glossary) == untouched
    assert chinese.convert_text("李前", "zh") == "李前"  # no glossary
    assert chinese.convert_text("李前", "yue", glossary) == "李前"  # Mandarin sounds only
    words = [Word("请", 0.0, 0.2), Word("李", 0.2, 0.4), Word("前", 0.4, 0.6), Word("。", 0.6, 0.6)]
    assert [(w.word, w.start) for w in chinese.convert_words(words, "zh", glossary)] == [
        ("请", 0.0), ("李", 0.2), ("乾", 0.4), ("。", 0.6)]


def test_glossary_terms_keep_their_spelling_across_word_pieces() -> None:
    words = [Word("李", 0.0, 0.2), Word("乾", 0.2, 0.4), Word("说", 0.4, 0.6)]
    kept = chinese.convert_words(words, "zh-CN", ["李乾"])
    assert [(w.word, w.start, w.end) for w in kept] == [
        ("李", 0.0, 0.2), ("乾", 0.2, 0.4), ("说", 0.4, 0.6)]
    assert [w.word for w in chinese.convert_words(words, "zh-CN")] == ["李", "干", "说"]


def chars(text: str, start: float = 0.0, step: float = 0.22) -> list[Word]:
    """One word per character (as Whisper times Chinese), punctuation kept with its character."""
    pieces: list[str] = []
    for ch in text:
        if pieces and (SENTENCE_END.search(ch) or CLAUSE_END.search(ch)):
            pieces[-1] += ch
        else:
            pieces.append(ch)
    return [Word(p, round(start + i * step, 3), round(start + (i + 1) * step, 3))
            for i, p in enumerate(pieces)]


SPEECH = ("大家好，欢迎来到二〇二六年的年度大会。今天我们要介绍三款新产品，"
          "还有我们明年的计划。请大家把问题发给主持人，谢谢！")


def test_chinese_cues_follow_the_character_rules() -> None:
    assert cue_style("zh-CN") == CHINESE and cue_style("en") == LATIN
    cues = build_cues(chars(SPEECH), style=CHINESE)
    validate_cues(cues)
    assert "".join(c.text.replace("\n", "") for c in cues) == SPEECH  # nothing lost or added
    for cue in cues:
        lines = cue.text.split("\n")
        assert len(lines) <= 2
        assert all(len(line) <= 16 for line in lines), cue
        assert " " not in cue.text  # no space invented between characters
        assert len(cue.text.replace("\n", "")) / (cue.end - cue.start) <= 9.0 + 1e-6, cue


def test_chinese_cues_break_at_chinese_punctuation() -> None:
    cues = build_cues(chars(SPEECH), style=CHINESE)
    ends = [c.text[-1] for c in cues[:-1]]
    assert all(e in "，。！？、；：" for e in ends), [c.text for c in cues]


def test_chinese_cues_break_at_pauses() -> None:
    words = chars("我们今天讨论新的计划") + chars("然后回答大家的问题", start=4.0)
    cues = build_cues(words, style=CHINESE)
    assert [c.text for c in cues] == ["我们今天讨论新的计划", "然后回答大家的问题"]


def test_chinese_reading_speed_keeps_cues_on_screen() -> None:
    # 16 characters said in 1.6 s: at 9 characters/s a reader needs 1.8 s
    words = chars("我们今天讨论新的计划和明年的安排", step=0.1)
    cues = build_cues(words, style=CHINESE)
    assert cues[-1].end - cues[0].start >= 16 / 9.0 - 1e-3
    latin = build_cues(words, style=LATIN)
    assert latin[-1].end < cues[-1].end


def test_glossary_of_chinese_names_fits_whisper_prompt() -> None:
    names = [f"{surname}{given}" for surname in "张王李赵刘陈杨黄周吴" for given in "伟芳娜敏静"]
    prompt = asr.glossary_prompt(["张伟", "Podium", *names])
    assert prompt.startswith("张伟, Podium, ")
    # about 100 Chinese characters at most: Whisper's 223-token prompt keeps them all
    assert sum(1 for c in prompt if ord(c) > 127) <= 100
    assert asr.glossary_prompt(["张伟", " 张伟 "]) == "张伟"
