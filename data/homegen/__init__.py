"""The synthetic data generator behind data/generate_data.py.

piles.py        the word piles of a language (data/piles/<code>/)
splits.py       what the train and test splits may draw from (held-out names, templates, layouts)
homes.py        random homes: layouts, devices, names, aliases, states and attributes
intents.py      what a request asks of a device, and the Home Assistant call it expects
references.py   the words that name exactly one device, or several (ambiguity)
phrasing.py     values said several ways, and the noise of real requests
responses.py    the assistant's sentence in one of several personas
requests.py     one example in the making: a home, a speaker, and helpers to say things
categories/     the eight kinds of example
dataset.py      seeds, rendering with the format module, JSONL lines, worker processes
stats.py        the per-split report
languages/      language rules that aren't word lists (numbers, durations, agreement)
"""
