"""Instruments and ensembles: all 128 General MIDI names plus the words people use, in English and Chinese.

Section words (strings, brass, choir, 弦乐, 铜管) name an ensemble rather than one player; they
map to the GM program that plays them (String Ensemble 1, Brass Section, Choir Aahs).
Chinese instruments without a GM program map to the nearest one and keep their own name
(`CHINESE`): 古筝 and 古琴 to Koto (a zither), 琵琶 to Shamisen (a plucked lute), 二胡 to Fiddle, 笛子
to Flute, 箫 to Shakuhachi (an end-blown bamboo flute), 扬琴 to Dulcimer (a hammered dulcimer), 唢呐
to Shanai (a double reed).
"""

from __future__ import annotations

from engine.prompt.gm import GM_NAMES, NamedProgram, Program
from engine.prompt.text import phrase_key, plural

ENSEMBLES = frozenset({44, 45, 48, 49, 50, 51, 52, 53, 54, 61, 62, 63})

WORDS: dict[str, int] = {
    # keyboards and tuned percussion
    "piano": 0, "grand piano": 0, "acoustic piano": 0, "upright piano": 0, "classical piano": 0,
    "keyboard": 0, "bright piano": 1, "electric grand": 2, "honky tonk": 3, "saloon piano": 3,
    "electric piano": 4, "e piano": 4, "epiano": 4, "rhodes": 4, "rhodes piano": 4, "wurlitzer": 4,
    "fm piano": 5, "harpsichord": 6, "clavinet": 7, "clav": 7, "celesta": 8, "celeste": 8,
    "glockenspiel": 9, "glock": 9, "music box": 10, "musicbox": 10, "vibraphone": 11, "vibes": 11,
    "marimba": 12, "xylophone": 13, "chimes": 14, "bell": 14, "church bells": 14, "dulcimer": 15,
    "hammered dulcimer": 15, "hammond": 16, "hammond organ": 16, "jazz organ": 16, "organ": 19,
    "pipe organ": 19, "harmonium": 20, "mouth organ": 22, "blues harp": 22, "bandoneon": 23,
    # guitars and basses
    "guitar": 24, "nylon guitar": 24, "nylon string guitar": 24, "classical guitar": 24,
    "spanish guitar": 24, "acoustic guitar": 25, "steel guitar": 25, "steel string guitar": 25,
    "folk guitar": 25, "jazz guitar": 26, "electric guitar": 27, "clean guitar": 27, "muted guitar": 28,
    "palm muted guitar": 28, "overdrive guitar": 29, "distorted guitar": 30, "upright bass": 32,
    "bass": 33, "bass guitar": 33, "electric bass": 33, "finger bass": 33, "picked bass": 34,
    "pick bass": 34, "fretless": 35, "slap bass": 36, "synth bass": 38, "bass clarinet": 71,
    # orchestra
    "violoncello": 42, "double bass": 43, "pizzicato": 45, "harp": 46, "concert harp": 46,
    "kettle drums": 47, "kettledrums": 47, "strings": 48, "string ensemble": 48, "string section": 48,
    "string orchestra": 48, "string quartet": 48, "orchestra": 48, "orchestral": 48, "symphony": 48,
    "symphonic": 48, "chamber orchestra": 48, "slow strings": 49, "synth strings": 50, "choir": 52,
    "choral": 52, "voices": 53, "oohs": 53, "humming": 53, "vocals": 53, "synth voice": 54,
    "horn": 60, "brass": 61, "brass band": 61, "horn section": 61, "synth brass": 62,
    "soprano saxophone": 64, "sax": 65, "saxophone": 65, "alto saxophone": 65, "tenor saxophone": 66,
    "bari sax": 67, "baritone saxophone": 67, "cor anglais": 69, "panpipes": 75, "pan pipes": 75,
    "panflute": 75, "whistling": 78,
    # synths and the rest
    "square lead": 80, "square wave": 80, "chiptune": 80, "chip tune": 80, "8 bit": 80, "synth": 81,
    "synthesizer": 81, "synthesiser": 81, "synth lead": 81, "lead synth": 81, "saw lead": 81,
    "sawtooth": 81, "saw wave": 81, "calliope": 82, "chiff lead": 83, "lead 4 (chiff)": 83, "charang": 84,
    "voice lead": 85, "fifths lead": 86, "bass and lead": 87, "pad": 88, "synth pad": 88,
    "new age pad": 88, "warm pad": 89, "polysynth": 90, "choir pad": 91, "bowed pad": 92,
    "metallic pad": 93, "halo pad": 94, "sweep pad": 95, "mbira": 108, "thumb piano": 108,
    "shehnai": 111, "sleigh bells": 112, "jingle bells": 112, "steelpan": 114, "steel pan": 114,
    "steel drum": 114, "wood block": 115, "taiko": 116, "fret noise": 120, "birdsong": 123,
    # Chinese
    "钢琴": 0, "三角钢琴": 0, "大钢琴": 0, "立式钢琴": 0, "明亮钢琴": 1, "电钢琴": 4, "电钢": 4, "电子琴": 4,
    "大键琴": 6, "羽管键琴": 6, "古钢琴": 6, "钢片琴": 8, "钟琴": 9, "八音盒": 10, "音乐盒": 10,
    "颤音琴": 11, "电颤琴": 11, "马林巴": 12, "马林巴琴": 12, "木琴": 13, "管钟": 14, "钟": 14, "编钟": 14,
    "哈蒙德风琴": 16, "电风琴": 16, "摇滚风琴": 18, "管风琴": 19, "教堂风琴": 19, "风琴": 20,
    "簧风琴": 20, "脚踏风琴": 20, "手风琴": 21, "口琴": 22, "班多钮": 23, "探戈手风琴": 23,
    "吉他": 24, "古典吉他": 24, "尼龙吉他": 24, "尼龙弦吉他": 24, "民谣吉他": 25, "木吉他": 25,
    "钢弦吉他": 25, "原声吉他": 25, "爵士吉他": 26, "电吉他": 27, "清音吉他": 27, "闷音吉他": 28,
    "过载吉他": 29, "失真吉他": 30, "泛音吉他": 31, "贝斯": 33, "电贝斯": 33, "无品贝斯": 35,
    "拍弦贝斯": 36, "合成贝斯": 38, "合成器贝斯": 38, "小提琴": 40, "中提琴": 41, "大提琴": 42,
    "低音提琴": 43, "震音弦乐": 44, "拨弦": 45, "拨奏": 45, "竖琴": 46, "定音鼓": 47, "弦乐": 48,
    "弦乐队": 48, "弦乐团": 48, "弦乐四重奏": 48, "弦乐合奏": 48, "管弦乐": 48, "管弦乐队": 48,
    "管弦乐团": 48, "交响乐": 48, "交响乐团": 48, "合成弦乐": 50, "合唱": 52, "合唱团": 52, "唱诗班": 52,
    "人声": 53, "哼唱": 53, "合成人声": 54, "小号": 56, "长号": 57, "大号": 58, "弱音小号": 59,
    "圆号": 60, "法国号": 60, "铜管": 61, "铜管乐": 61, "铜管乐队": 61, "铜管乐团": 61, "合成铜管": 62,
    "高音萨克斯": 64, "萨克斯": 65, "萨克斯风": 65, "萨克斯管": 65, "中音萨克斯": 65, "次中音萨克斯": 66,
    "上低音萨克斯": 67, "双簧管": 68, "英国管": 69, "大管": 70, "巴松": 70, "巴松管": 70, "单簧管": 71,
    "黑管": 71, "短笛": 72, "长笛": 73, "笛": 73, "竖笛": 74, "排箫": 75,
    "尺八": 77, "口哨": 78, "陶笛": 79, "方波": 80, "八比特": 80, "合成器": 81, "锯齿波": 81,
    "合成主音": 81, "铺底": 88, "合成铺底": 88, "合成器铺底": 88, "合成垫音": 88, "西塔琴": 104,
    "班卓琴": 105, "三味线": 106, "卡林巴": 108,
    "拇指琴": 108, "风笛": 109, "铃": 112, "铃铛": 112, "雪橇铃": 112,
    "钢鼓": 114, "木鱼": 115, "木块": 115, "太鼓": 116,
}  # fmt: skip


# Chinese instruments: the words for each, its nearest GM program, and its name in a piece
CHINESE: dict[tuple[int, str], tuple[str, ...]] = {
    (107, "Guzheng"): ("guzheng", "zheng", "古筝", "筝"),
    (107, "Guqin"): ("guqin", "古琴"),
    (106, "Pipa"): ("pipa", "琵琶"),
    (110, "Erhu"): ("erhu", "二胡"),
    (73, "Dizi"): ("dizi", "bamboo flute", "笛子", "竹笛"),
    (77, "Xiao"): ("xiao", "洞箫", "箫"),
    (15, "Yangqin"): ("yangqin", "扬琴"),
    (111, "Suona"): ("suona", "唢呐"),
}


def _phrases() -> dict[str, int]:
    """Lookup keys for every GM name and every word above, with English plurals ("violins", "saxes")."""
    table: dict[str, int] = {
        phrase_key(word): NamedProgram(program, label)
        for (program, label), words in CHINESE.items()
        for word in (*words, label)
    }
    for program, name in enumerate(GM_NAMES):
        table.setdefault(phrase_key(name), program)
    for word, program in WORDS.items():
        table.setdefault(phrase_key(word), program)
    for key, program in list(table.items()):
        if (many := plural(key)) is not None:
            table.setdefault(many, program)
    return table


PHRASES: dict[str, int] = _phrases()


def as_program(number: int) -> Program:
    """A looked-up number as a Program, keeping a Chinese instrument's own name."""
    return number if isinstance(number, Program) else Program(number)


def lookup_instrument(name: str) -> tuple[Program, str] | None:
    """A program and its name from a GM name or an everyday word ('Violin', 'violins', '钢琴'); a Chinese
    instrument keeps its own name ('古筝' -> Koto's program, 'Guzheng')."""
    program = PHRASES.get(phrase_key(name))
    return None if program is None else (as_program(program), as_program(program).name)
