"""What Jam says about voice, in English and Chinese: one short line each, never a traceback."""

from __future__ import annotations

from bot.i18n import Language

TEXTS: dict[str, dict[Language, str]] = {
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


def say(key: str, lang: Language, **values: object) -> str:
    return TEXTS[key][lang].format(**values)
