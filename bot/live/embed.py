"""The live jam's embed: what it plays now (key, tempo, instrument, drums, chords); its buttons are in
`bot.live.commands`, beside the commands they run."""

from __future__ import annotations

import discord

from bot.i18n import Language
from bot.present import COLOUR
from bot.texts import LIVE, say
from engine.server.schemas import LivePhraseResponse


def live_embed(
    prompt: str, now: LivePhraseResponse | None, lang: Language, channel: str, last_steer: str | None = None
) -> discord.Embed:
    embed = discord.Embed(title=say(LIVE, "title", lang), description=prompt or None, colour=COLOUR)
    if now is None:
        embed.add_field(name="\u200b", value=say(LIVE, "starting", lang), inline=False)
    else:
        embed.add_field(name=say(LIVE, "key", lang), value=f"{now.key} {now.mode}")
        embed.add_field(name=say(LIVE, "tempo", lang), value=f"{now.tempo} bpm · {now.meter}")
        embed.add_field(name=say(LIVE, "instrument", lang), value=now.instrument)
        embed.add_field(name=say(LIVE, "drums", lang), value=say(LIVE, "on" if now.drums else "off", lang))
        embed.add_field(name=say(LIVE, "chords", lang), value=" | ".join(now.chords) or "—", inline=False)
    if last_steer:
        embed.add_field(name="\u200b", value=last_steer, inline=False)
    embed.set_footer(text=say(LIVE, "how", lang, channel=channel))
    return embed
