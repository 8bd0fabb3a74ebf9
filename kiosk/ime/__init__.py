"""Pinyin input for the kiosk's on-screen keyboard: word candidates for what a citizen types.

`candidates.Lexicon` looks words up in data/words.sqlite (built from jieba's dictionary by
scripts/build_ime_data.py); the web route is hall.web.api_ime.
"""
