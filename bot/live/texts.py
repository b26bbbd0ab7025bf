"""What Jam says about live jams, in English and Chinese."""

from __future__ import annotations

from bot.i18n import Language

TEXTS: dict[str, dict[Language, str]] = {
    "title": {"en": "🔴 Live jam", "zh": "🔴 现场即兴"},
    "track": {"en": "Live jam", "zh": "现场即兴"},
    "starting": {"en": "Warming up…", "zh": "准备中……"},
    "key": {"en": "Key", "zh": "调"},
    "tempo": {"en": "Tempo", "zh": "速度"},
    "instrument": {"en": "Instrument", "zh": "乐器"},
    "drums": {"en": "Drums", "zh": "鼓"},
    "chords": {"en": "Chords", "zh": "和弦"},
    "on": {"en": "on", "zh": "开"},
    "off": {"en": "off", "zh": "关"},
    "how": {
        "en": "Anyone in {channel} can steer: buttons or /jam steer (faster, darker, to flute, 换成钢琴…)",
        "zh": "{channel} 里的每个人都可以调整：用按钮，或 /jam steer（更快、暗一点、换成长笛……）",
    },
    "last_steer": {"en": "Last steer: {text} ({who})", "zh": "最近的调整：{text}（{who}）"},
    "already": {
        "en": "A live jam is playing here already: steer it with /jam steer, or end it with /jam stop.",
        "zh": "这里已经在现场即兴了：用 /jam steer 调整，或用 /jam stop 结束。",
    },
    "none": {
        "en": "No live jam is playing here. Start one with /jam live.",
        "zh": "这里没有现场即兴。用 /jam live 开始。",
    },
    "listeners_only": {
        "en": "Only people listening in {channel} can steer or stop the jam.",
        "zh": "只有在 {channel} 里收听的人才能调整或停止即兴。",
    },
    "steered": {
        "en": "🎛️ {who}: {text} (heard from the next phrase)",
        "zh": "🎛️ {who}：{text}（从下一句开始）",
    },
    "too_many_steers": {
        "en": "Several steers are waiting for the next phrase already; try again in a moment.",
        "zh": "已经有好几个调整在等下一句了，请稍后再试。",
    },
    "started": {"en": "🔴 Live in {channel}.", "zh": "🔴 正在 {channel} 现场即兴。"},
    "queued": {
        "en": "🔴 The live jam starts after {place} queued pieces.",
        "zh": "🔴 现场即兴将在 {place} 首曲子之后开始。",
    },
    "stopping": {"en": "⏹️ Stopping the live jam.", "zh": "⏹️ 正在结束现场即兴。"},
    "ended_stopped": {"en": "⏹️ The live jam has ended.", "zh": "⏹️ 现场即兴已结束。"},
    "ended_alone": {
        "en": "👋 The live jam ended: nobody was listening.",
        "zh": "👋 现场即兴已结束：没有人在听。",
    },
    "ended_error": {"en": "⚠️ The live jam stopped: {reason}", "zh": "⚠️ 现场即兴停止了：{reason}"},
}
BUTTONS: dict[str, tuple[str, dict[Language, str], str]] = {
    # action: (emoji, label, the steer it sends)
    "faster": ("⏩", {"en": "Faster", "zh": "快一点"}, "faster"),
    "slower": ("⏪", {"en": "Slower", "zh": "慢一点"}, "slower"),
    "darker": ("🌑", {"en": "Darker", "zh": "暗一点"}, "darker"),
    "brighter": ("☀️", {"en": "Brighter", "zh": "亮一点"}, "brighter"),
    "drums": ("🥁", {"en": "Drums on/off", "zh": "鼓 开/关"}, ""),
    "stop": ("⏹️", {"en": "Stop", "zh": "停止"}, ""),
}


def say(key: str, lang: Language, **values: object) -> str:
    return TEXTS[key][lang].format(**values)
