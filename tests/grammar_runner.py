"""llama.cpp's grammar engine over the bundled model's vocabulary: whether a grammar admits a
text, token by token as generation would see it."""

from __future__ import annotations

import ctypes
import math

import llama_cpp

from home_llm_core.defaults import bundled_model_path


class GrammarRunner:
    """Parses a grammar as the worker does and feeds it the tokens of a text, as generation
    would: a text is accepted when the grammar allows each of its tokens, then the end."""

    def __init__(self) -> None:
        self.llm = llama_cpp.Llama(str(bundled_model_path()), vocab_only=True, verbose=False)
        self.vocab = llama_cpp.llama_model_get_vocab(self.llm.model)

    def parses(self, grammar: str) -> bool:
        sampler = llama_cpp.llama_sampler_init_grammar(self.vocab, grammar.encode(), b"root")
        if sampler:
            llama_cpp.llama_sampler_free(sampler)
        return bool(sampler)

    def _allowed(self, sampler, token: int) -> bool:
        one = (llama_cpp.llama_token_data * 1)(llama_cpp.llama_token_data(token, 0.0, 0.0))
        candidates = llama_cpp.llama_token_data_array(one, 1, -1, False)
        llama_cpp.llama_sampler_apply(sampler, ctypes.byref(candidates))
        return one[0].logit != -math.inf

    def accepts(self, grammar: str, text: str) -> bool:
        sampler = llama_cpp.llama_sampler_init_grammar(self.vocab, grammar.encode(), b"root")
        assert sampler, f"llama.cpp can't parse the grammar:\n{grammar}"
        try:
            for token in self.llm.tokenize(text.encode(), add_bos=False, special=False):
                if not self._allowed(sampler, token):
                    return False
                llama_cpp.llama_sampler_accept(sampler, token)
            return self._allowed(sampler, llama_cpp.llama_vocab_eos(self.vocab))
        finally:
            llama_cpp.llama_sampler_free(sampler)
