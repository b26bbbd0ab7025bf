"""Everything Jam says, in English and Chinese: one table per part of the bot, and one `say`.

A text is found by its table and name, and filled with `str.format` values; `Language` picks the column.
(`bot.cogs.prefs` and `bot.taste` still keep their own few words, until their branch lands.)
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import Language

Texts = dict[str, dict[Language, str]]  # name -> language -> text


def say(table: Texts, name: str, lang: Language, **values: object) -> str:
    """The text `name` of `table` in `lang`, filled with `values`."""
    return table[name][lang].format(**values)


# Errors anywhere: one line for the person, never a traceback (bot.errors).

SORRY: dict[Language, str] = {
    "en": "Something went wrong on my side. Please try again in a moment.",
    "zh": "我这边出了点问题，请稍后再试。",
}

COOLDOWN: dict[Language, str] = {
    "en": "Slow down a little: try again in {seconds} s.",
    "zh": "慢一点：{seconds} 秒后再试。",
}

NOT_ALLOWED: dict[Language, str] = {
    "en": "You can't use this here.",
    "zh": "你不能在这里使用这个命令。",
}


# Making a piece, and what stops it (bot.studio, bot.present).

PIECE: Texts = {
    "composing": {"en": "🎼 Composing…", "zh": "🎼 正在作曲…"},
    "varying": {"en": "🎼 Writing a variation…", "zh": "🎼 正在写变奏…"},
    "extending": {"en": "🎼 Writing {bars} more bars…", "zh": "🎼 正在续写 {bars} 小节…"},
    "arranging": {"en": "🎻 Arranging for {instrument}…", "zh": "🎻 正在为 {instrument} 编配…"},
    "rendering": {"en": "🔊 Rendering the audio and the picture…", "zh": "🔊 正在生成音频和乐谱图…"},
    "orchestrating": {"en": "🎻 Re-orchestrating for {instrument}…", "zh": "🎻 正在改用 {instrument} 演奏…"},
    "crowded_guild": {
        "en": "This server already has {limit} pieces in progress. Try again once one of them is posted.",
        "zh": "这个服务器已经有 {limit} 首曲子正在创作，等其中一首发出后再试。",
    },
    "crowded_dm": {
        "en": "You already have a piece in progress. Try again as soon as it is posted.",
        "zh": "你已经有一首曲子正在创作，等它发出后再试。",
    },
    "channel_closed": {
        "en": "I don't answer in this channel. Ask me in {channels}.",
        "zh": "我不在这个频道回复，请到 {channels} 找我。",
    },
    "too_many_bars": {
        "en": "At most {limit} bars here; ask for fewer.",
        "zh": "这里最多 {limit} 小节，请少要一些。",
    },
    "too_long_to_extend": {
        "en": "This piece has {bars} bars already; {limit} is the longest allowed here.",
        "zh": "这首曲子已经有 {bars} 小节了，这里最长只能 {limit} 小节。",
    },
    "shortened": {
        "en": "Shortened to {limit} bars, the longest allowed here.",
        "zh": "已缩短到 {limit} 小节（这里允许的最长长度）。",
    },
    "bad_request": {"en": "I can't read that request: {reason}", "zh": "我看不懂这个请求：{reason}"},
    "gone": {
        "en": "I no longer have that piece (it may have been deleted).",
        "zh": "这首曲子已经不在了（可能已被删除）。",
    },
    "rated_up": {"en": "Thanks! Noted 👍", "zh": "谢谢！已记下 👍"},
    "rated_down": {"en": "Thanks! Noted 👎", "zh": "谢谢！已记下 👎"},
    "smaller_audio": {
        "en": "The audio was encoded smaller to fit this server's upload limit.",
        "zh": "为了符合本服务器的上传限制，音频已压缩。",
    },
    "no_picture": {
        "en": "The picture was left out to fit this server's upload limit.",
        "zh": "为了符合本服务器的上传限制，省略了乐谱图。",
    },
    "no_audio": {
        "en": "The audio is too large for this server's upload limit; here is the MIDI.",
        "zh": "音频超出了本服务器的上传限制，这里是 MIDI 文件。",
    },
    "busy": {
        "en": "I'm composing for a lot of people right now. Try again in {seconds} s.",
        "zh": "我现在正在为很多人作曲，请 {seconds} 秒后再试。",
    },
    "unavailable": {
        "en": "The composer is not available right now (it may be restarting). Try again in a few seconds.",
        "zh": "作曲引擎暂时不可用（可能正在重启），请过几秒再试。",
    },
    "timeout": {
        "en": "That took too long, so I gave up. Try again, perhaps with fewer bars.",
        "zh": "花的时间太长，我放弃了。请再试一次，或者少要几个小节。",
    },
    "rejected": {"en": "I can't compose that: {reason}", "zh": "这个我没法创作：{reason}"},
}


# A piece's embed (bot.present.piece_embed).

FIELDS: Texts = {
    "key": {"en": "Key", "zh": "调"},
    "tempo": {"en": "Tempo", "zh": "速度"},
    "meter": {"en": "Meter", "zh": "拍号"},
    "bars": {"en": "Bars", "zh": "小节"},
    "instrument": {"en": "Instrument", "zh": "乐器"},
    "form": {"en": "Form", "zh": "曲式"},
    "chords": {"en": "Chords", "zh": "和弦"},
    "band": {"en": "Arrangement", "zh": "编配"},
    "understood": {"en": "From your words", "zh": "从你的描述中读到"},
    "tradition": {"en": "Tradition", "zh": "风格传统"},
    "piece": {"en": "Piece", "zh": "作品"},
    "major": {"en": "major", "zh": "大调"},
    "minor": {"en": "minor", "zh": "小调"},
    "mood": {"en": "mood", "zh": "情绪"},
}


# How a piece's tradition and tune type are named (engine.schemas.Resolved.tradition and .tune_type)
TRADITIONS: Texts = {
    "chinese": {"en": "Chinese", "zh": "中国"},
    "celtic": {"en": "Irish/Scottish", "zh": "爱尔兰/苏格兰"},
    "german": {"en": "German", "zh": "德国"},
}

TUNE_TYPES_ZH = {
    "reel": "里尔", "jig": "吉格", "slip jig": "滑步吉格", "hornpipe": "号笛舞曲", "strathspey": "斯特拉斯佩",
    "march": "进行曲", "air": "慢歌", "xiaodiao": "小调", "shange": "山歌", "haozi": "号子",
}  # fmt: skip


# Instruments offered in menus and autocomplete: the engine's word for each (its own names work too), and
# the Chinese label. Up to 25, Discord's limit for a select menu.
INSTRUMENTS: tuple[tuple[str, str], ...] = (
    ("piano", "钢琴"), ("violin", "小提琴"), ("cello", "大提琴"), ("flute", "长笛"), ("clarinet", "单簧管"),
    ("oboe", "双簧管"), ("trumpet", "小号"), ("french horn", "圆号"), ("guitar", "吉他"), ("harp", "竖琴"),
    ("marimba", "马林巴"), ("vibraphone", "颤音琴"), ("strings", "弦乐"), ("choir", "合唱"),
    ("organ", "管风琴"), ("accordion", "手风琴"), ("electric piano", "电钢琴"), ("music box", "八音盒"),
    ("pan flute", "排箫"), ("harpsichord", "羽管键琴"), ("bassoon", "巴松管"), ("saxophone", "萨克斯"),
    ("celesta", "钢片琴"), ("kalimba", "卡林巴"), ("steel drums", "钢鼓"),
)  # fmt: skip


# The buttons under a piece (bot.views).

PIECE_BUTTONS: Texts = {
    "play": {"en": "Play", "zh": "播放"},
    "vary": {"en": "Variation", "zh": "变奏"},
    "extend": {"en": "Extend", "zh": "续写"},
    "reroll": {"en": "Reroll", "zh": "重来"},
    "orchestrate": {"en": "Re-orchestrate with…", "zh": "换一种乐器…"},
}


# A person's melody, answered (bot.answer).

ANSWER: Texts = {
    "answering": {"en": "🎼 Listening to your melody…", "zh": "🎼 正在听你的旋律…"},
    "harmonizing": {"en": "🎼 Arranging your melody…", "zh": "🎼 正在为你的旋律编配…"},
    "yours": {"en": "your melody", "zh": "你的旋律"},
    "no_melody": {
        "en": "Give me a melody: type it (`C4 D4 E4 G4 | A4/2 G4`, `1 2 3 5`, `do re mi`) or attach a .mid.",
        "zh": "请给我一段旋律：直接输入（`C4 D4 E4 G4 | A4/2 G4`、`1 2 3 5`、`do re mi`）或附上 MIDI 文件。",
    },
    "too_big": {
        "en": "That file is {size} KiB; send a MIDI file of at most {limit} KiB.",
        "zh": "文件大小为 {size} KiB，MIDI 文件最大 {limit} KiB。",
    },
    "not_midi": {
        "en": "`{name}` isn't a MIDI file: attach a .mid file, or type the melody.",
        "zh": "`{name}` 不是 MIDI 文件：请附上 .mid 文件，或直接输入旋律。",
    },
    "no_message": {
        "en": "I can't find that message here: give its link (Copy Message Link) or an ID from this channel.",
        "zh": "在这里找不到那条消息：请给出它的链接（复制消息链接）或本频道中的消息 ID。",
    },
    "nothing_there": {
        "en": "That message has no melody for me: it needs a MIDI file or notes (`C4 D4 E4 G4`, `1 2 3 5`).",
        "zh": "那条消息里没有旋律可以回应：需要 MIDI 文件或音符（`C4 D4 E4 G4`、`1 2 3 5`）。",
    },
    "hidden": {
        "en": "Discord hides that message from me in a reply here: use Apps → Answer with Jam on it instead.",
        "zh": "在这里 Discord 不让我通过回复读取那条消息：请在它上面用「应用 → Answer with Jam」。",
    },
    "gone": {
        "en": "I can't find the message you replied to.",
        "zh": "找不到你回复的那条消息。",
    },
    "download": {
        "en": "I couldn't download that file; try sending it again.",
        "zh": "无法下载这个文件，请重新发送。",
    },
    "long_text": {
        "en": "`{name}` is too long for a melody: at most {limit} characters of notes.",
        "zh": "`{name}` 太长了：旋律最多 {limit} 个字符。",
    },
    "one_melody": {
        "en": "Give me one melody: `melody`, `midi` or `reply_to`, not more than one of them.",
        "zh": "请只给一段旋律：`melody`、`midi` 或 `reply_to` 三者选一。",
    },
}


# /jamadmin (bot.cogs.admin).

ADMIN: Texts = {
    "title": {"en": "Jam in this server", "zh": "Jam 在本服务器的设置"},
    "channels": {"en": "Answers in", "zh": "回复的频道"},
    "everywhere": {"en": "every channel", "zh": "所有频道"},
    "free_text": {"en": "Mentions", "zh": "提及请求"},
    "on": {"en": "answered", "zh": "回复"},
    "off": {"en": "ignored (only /compose)", "zh": "不回复（只用 /compose）"},
    "cooldown": {"en": "Cooldown per person", "zh": "每人冷却时间"},
    "max_bars": {"en": "Longest piece", "zh": "最长乐曲"},
    "bars": {"en": "{bars} bars", "zh": "{bars} 小节"},
    "default": {"en": "{value} (the bot's default)", "zh": "{value}（机器人默认）"},
    "jam_channel": {"en": "Jam channel", "zh": "即兴频道"},
    "none": {"en": "none", "zh": "无"},
    "no_intent": {
        "en": "Jam can't read messages there yet: its host must switch on the Message Content Intent "
        "(MESSAGE_CONTENT in .env.example). Mentions work meanwhile.",
        "zh": "Jam 暂时读不到那里的消息：机器人的主机需要开启 Message Content Intent"
        "（见 .env.example 中的 MESSAGE_CONTENT）。在此之前提及我仍然有效。",
    },
    "saved": {"en": "Saved.", "zh": "已保存。"},
    "not_listed": {
        "en": "Jam answers in every channel; use /jamadmin allow to pick the channels it answers in.",
        "zh": "Jam 目前在所有频道回复；用 /jamadmin allow 选择它回复的频道。",
    },
}


# /forgetme (bot.cogs.forget).

FORGET: Texts = {
    "ask": {
        "en": "Delete everything Jam keeps about you: your defaults, your pieces (and their ratings) "
        "and your ratings? This cannot be undone.",
        "zh": "删除 Jam 保存的关于你的一切：你的默认设置、你的作品（及其评分）和你的评分？此操作无法撤销。",
    },
    "yes": {"en": "Delete everything", "zh": "全部删除"},
    "no": {"en": "Cancel", "zh": "取消"},
    "done": {"en": "Done: Jam has forgotten you.", "zh": "完成：Jam 已经忘记了你。"},
    "nothing": {
        "en": "Done: Jam had nothing stored about you.",
        "zh": "完成：Jam 没有保存任何关于你的数据。",
    },
    "kept": {"en": "Nothing was deleted.", "zh": "没有删除任何内容。"},
    "not_yours": {"en": "Only the person who asked can answer this.", "zh": "只有提出请求的人才能回答。"},
}


# Messages to Jam where free text is off (bot.cogs.chat).

FREE_TEXT_OFF: dict[Language, str] = {
    "en": "Free text is switched off in this server: use /compose instead.",
    "zh": "这个服务器关闭了自由文本请求，请使用 /compose。",
}


# Voice: one short line each (bot.voice, bot.cogs.voice).

VOICE: Texts = {
    "no_guild": {"en": "Voice works in servers only.", "zh": "语音播放只能在服务器里使用。"},
    "not_in_voice": {
        "en": "Join a voice channel first, then ask again.",
        "zh": "请先加入一个语音频道，然后再试。",
    },
    "stage": {
        "en": "{channel} is a stage: I can't play there. Join a voice channel and ask again.",
        "zh": "{channel} 是舞台频道：我无法在那里播放。请加入一个语音频道后再试。",
    },
    "full": {
        "en": "{channel} is full, so I can't join it.",
        "zh": "{channel} 已满，我加入不了。",
    },
    "no_connect": {
        "en": "I'm not allowed to join {channel}: I need the Connect permission there.",
        "zh": "我不能加入 {channel}：我需要那里的“连接”权限。",
    },
    "no_speak": {
        "en": "I'm not allowed to speak in {channel}: I need the Speak permission there.",
        "zh": "我不能在 {channel} 里发言：我需要那里的“说话”权限。",
    },
    "busy_elsewhere": {
        "en": "I'm playing for people in {channel} right now. Join them, or try again later.",
        "zh": "我正在 {channel} 为大家播放。加入他们，或者稍后再试。",
    },
    "no_voice": {
        "en": "Voice playback is not installed on this bot (libopus, PyNaCl or davey is missing).",
        "zh": "这个机器人没有安装语音播放组件（缺少 libopus、PyNaCl 或 davey）。",
    },
    "failed": {
        "en": "I couldn't connect to {channel}. Try again in a moment.",
        "zh": "我连接不上 {channel}，请稍后再试。",
    },
    "no_pieces": {
        "en": "You have no pieces yet: make one with /compose, then play it.",
        "zh": "你还没有曲子：先用 /compose 创作一首，再来播放。",
    },
    "gone": {
        "en": "I don't have piece #{piece} (or it was made somewhere else).",
        "zh": "我找不到第 {piece} 号曲子（或者它不是在这里创作的）。",
    },
    "queue_full": {
        "en": "The queue is full ({limit} waiting). Try again when it has moved on.",
        "zh": "播放队列已满（{limit} 首在等待），稍后再试。",
    },
    "playing": {
        "en": "▶️ Playing piece #{piece} in {channel}.",
        "zh": "▶️ 正在 {channel} 播放第 {piece} 号曲子。",
    },
    "queued": {
        "en": "➕ Piece #{piece} is queued: number {place} in line.",
        "zh": "➕ 第 {piece} 号曲子已加入队列：排在第 {place} 位。",
    },
    "nothing_playing": {"en": "Nothing is playing.", "zh": "现在没有在播放。"},
    "listeners_only": {
        "en": "Only people listening in {channel} can do that.",
        "zh": "只有在 {channel} 里收听的人才能这样做。",
    },
    "skipped": {"en": "⏭️ Skipped {title}.", "zh": "⏭️ 已跳过 {title}。"},
    "stopped": {"en": "⏹️ Stopped, and emptied the queue.", "zh": "⏹️ 已停止，并清空了队列。"},
    "volume": {"en": "🔊 Volume {percent}% for this server.", "zh": "🔊 本服务器的音量：{percent}%。"},
    "piece_title": {"en": "Piece #{piece}", "zh": "第 {piece} 号曲子"},
    # The now-playing message.
    "now_playing": {"en": "▶️ **Now playing** {title}", "zh": "▶️ **正在播放** {title}"},
    "now_live": {"en": "🔴 **Live** {title}", "zh": "🔴 **现场** {title}"},
    "asked_by": {"en": "asked for by {who}", "zh": "由 {who} 点播"},
    "up_next": {"en": "**Up next**", "zh": "**接下来**"},
    "and_more": {"en": "…and {count} more", "zh": "……还有 {count} 首"},
    "loading": {"en": "⏳ Getting {title} ready…", "zh": "⏳ 正在准备 {title}……"},
    "queue_empty": {
        "en": "⏹️ Nothing playing. Play a piece with /play or its ▶️ button.",
        "zh": "⏹️ 没有在播放。用 /play 或曲子下方的 ▶️ 按钮来播放。",
    },
    "could_not_play": {"en": "⚠️ I couldn't play {title}.", "zh": "⚠️ 无法播放 {title}。"},
    "could_not_play_why": {"en": "⚠️ I couldn't play {title}: {why}", "zh": "⚠️ 无法播放 {title}：{why}"},
    "board_moved": {
        "en": "⏩ What plays is shown in {channel} now.",
        "zh": "⏩ 播放信息现在显示在 {channel}。",
    },
    "where": {"en": "in {channel} · volume {percent}%", "zh": "{channel} · 音量 {percent}%"},
    "left_alone": {
        "en": "👋 I left the voice channel: nobody was listening.",
        "zh": "👋 我离开了语音频道：没有人在听。",
    },
    "left_idle": {
        "en": "👋 I left the voice channel: nothing was playing.",
        "zh": "👋 我离开了语音频道：没有在播放的内容。",
    },
    "left_stopped": {"en": "👋 I left the voice channel.", "zh": "👋 我离开了语音频道。"},
    "left_disconnected": {
        "en": "👋 I was disconnected from the voice channel.",
        "zh": "👋 我已从语音频道断开。",
    },
}


# Live jams (bot.live).

LIVE: Texts = {
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

LIVE_BUTTONS: dict[str, tuple[str, dict[Language, str], str]] = {
    # action: (emoji, label, the steer it sends)
    "faster": ("⏩", {"en": "Faster", "zh": "快一点"}, "faster"),
    "slower": ("⏪", {"en": "Slower", "zh": "慢一点"}, "slower"),
    "darker": ("🌑", {"en": "Darker", "zh": "暗一点"}, "darker"),
    "brighter": ("☀️", {"en": "Brighter", "zh": "亮一点"}, "brighter"),
    "drums": ("🥁", {"en": "Drums on/off", "zh": "鼓 开/关"}, ""),
    "stop": ("⏹️", {"en": "Stop", "zh": "停止"}, ""),
}


# /help (bot.cogs.help).


@dataclass(frozen=True)
class HelpText:
    title: str
    description: str
    fields: tuple[tuple[str, str], ...]


HELP: dict[Language, HelpText] = {
    "en": HelpText(
        title="Jam: music on request",
        description="I compose short original pieces: audio that plays right here, with the MIDI and a "
        "picture of the notes.",
        fields=(
            ("/compose", "Describe it: `/compose prompt: a calm waltz in D minor on cello`. Options set the "
             "key, mode, tempo, meter, bars, instrument, style and drums. You get the audio, the MIDI and a "
             "picture, with what I understood."),
            ("Just ask", "Mention me (`@Jam a cheerful jig`) or send me a direct message; in a jam channel, "
             "every message is a request."),
            ("Buttons", "Under each piece: Variation (same idea, new notes), Extend (8 more bars), Reroll "
             "(new seed), 👍 / 👎, and a menu to play it on another instrument."),
            ("Voice", "Join a voice channel and press ▶️ Play under a piece, or `/play` (your latest, or "
             "`piece:` its number). `/skip`, `/stop`, `/volume 0-200`. I leave when nobody is listening."),
            ("/jam live", "I play on and on in your voice channel; anyone listening steers with `/jam steer` "
             "(faster, darker, more drums, switch to flute…) or the buttons. `/jam stop` ends it."),
            ("/jam answer", "Give me a melody (`C4 D4 E4 G4 | A4/2 G4`, `1 2 3 5`, `do re mi`, a MIDI file, "
             "or `reply_to:` a message's link) and I answer it in its key and meter, or arrange it with "
             "`harmonize`. On a message with one: Apps → Answer with Jam, or reply `@Jam answer this`."),
            ("/prefs", "Your defaults (instrument, mood, tempo, key, drums, language) for whatever you "
             "leave open, and what your 👍 / 👎 taught me (`clear: taste` starts over)."),
            ("/forgetme", "Delete everything Jam keeps about you (it asks you to confirm first)."),
            ("/jamadmin", "Needs Manage Server: the channels Jam answers in, free text on or off, "
             "the cooldown, the longest piece in bars and the jam channel."),
        ),
    ),
    "zh": HelpText(
        title="Jam：按需作曲",
        description="我会创作简短的原创乐曲：可以直接在这里播放的音频，并附上 MIDI 文件和乐谱图。",
        fields=(
            ("/compose", "描述你想要的音乐：`/compose prompt: 一首D小调的大提琴圆舞曲`。"
             "选项可以指定调、调式、速度、拍号、小节数、乐器、风格和鼓。你会收到音频、MIDI 和乐谱图，"
             "以及我读懂的内容。"),
            ("直接说", "提及我（`@Jam 来一首欢快的吉格舞曲`）或者给我发私信；"
             "在即兴频道里，每条消息都是请求。"),
            ("按钮", "每首乐曲下方：变奏（同样的想法，新的音符）、续写（再加 8 小节）、重来（换个随机种子）、"
             "👍 / 👎，以及换一种乐器演奏的菜单。"),
            ("语音", "加入语音频道，按曲子下方的 ▶️ 播放，或用 `/play`（默认你最新的曲子，或用 `piece:` "
             "指定编号）。`/skip`、`/stop`、`/volume 0-200`。没有人在听时我会离开。"),
            ("/jam live", "我在你的语音频道里不停地即兴演奏；在听的每个人都可以用 `/jam steer`"
             "（快一点、暗一点、加鼓、换成钢琴……）或按钮来调整。`/jam stop` 结束。"),
            ("/jam answer", "给我一段旋律（`C4 D4 E4 G4 | A4/2 G4`、`1 2 3 5`、`do re mi`、MIDI 文件，"
             "或用 `reply_to:` 给出某条消息的链接），我会按它的调和拍子回应，或用 `harmonize` 为它编配。"
             "对带旋律的消息：应用 → Answer with Jam，或回复 `@Jam 接下去` / `@Jam 配和声`。"),
            ("/prefs", "你的默认偏好（乐器、情绪、速度、调、鼓、语言），用来补全你没有指定的部分；"
             "以及我从你的 👍 / 👎 学到的口味（`clear: taste` 重新开始）。"),
            ("/forgetme", "删除 Jam 保存的关于你的一切（会先请你确认）。"),
            ("/jamadmin", "需要“管理服务器”权限：设置 Jam 回复的频道、是否接受自由文本、冷却时间、"
             "最大小节数和即兴频道。"),
        ),
    ),
}  # fmt: skip
