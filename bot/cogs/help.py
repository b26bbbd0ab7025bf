"""/help: what Jam can do, briefly, in English or Chinese (by the user's Discord language)."""

from __future__ import annotations

from dataclasses import dataclass

import discord
from discord import app_commands
from discord.ext import commands

from bot.i18n import Language, language

COLOUR = discord.Colour.from_rgb(88, 101, 242)


@dataclass(frozen=True)
class HelpText:
    title: str
    description: str
    fields: tuple[tuple[str, str], ...]


TEXTS: dict[Language, HelpText] = {
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
             "leave open, what your 👍 / 👎 taught me (`clear: taste` starts over), and how often I try "
             "something new (`surprise: more / less`)."),
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
             "我从你的 👍 / 👎 学到的口味（`clear: taste` 重新开始）；以及我多常尝试新东西"
             "（`surprise: more / less`）。"),
            ("/forgetme", "删除 Jam 保存的关于你的一切（会先请你确认）。"),
            ("/jamadmin", "需要“管理服务器”权限：设置 Jam 回复的频道、是否接受自由文本、冷却时间、"
             "最大小节数和即兴频道。"),
        ),
    ),
}  # fmt: skip


def help_embed(lang: Language) -> discord.Embed:
    text = TEXTS[lang]
    embed = discord.Embed(title=text.title, description=text.description, colour=COLOUR)
    for name, value in text.fields:
        embed.add_field(name=name, value=value, inline=False)
    return embed


class Help(commands.Cog):
    """The one command everyone can find: it explains all the others."""

    @app_commands.command(name="help", description="What Jam can do and how to ask for it")
    async def show_help(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            embed=help_embed(language(interaction.locale)), ephemeral=True
        )


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Help())
