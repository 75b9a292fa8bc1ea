#!/usr/bin/env python3
"""Writes smollm2-llama.json: llama.cpp's per-token log-probabilities of a paragraph (from one batched
pass, and with the tokens fed one at a time: the two differ by a mean |Δ| of 0.076 on this file), greedy
continuations and the chat answer of SmolLM2-135M-Instruct (Q4_1), from /tmp/score-llama
(score-llama.c, built as its header says). Run by hand: python3 make-smollm2-fixtures.py MODEL"""
import json, subprocess, sys

MODEL = sys.argv[1]
SCORE = "/tmp/score-llama"
PARAGRAPH = ("The history of the printing press begins in the fifteenth century, when Johannes Gutenberg "
             "combined movable metal type, oil-based ink and a wooden press adapted from those used to make "
             "wine. Within fifty years, printers in more than two hundred cities had produced millions of "
             "books, and the cost of copying a text fell so far that pamphlets, newspapers and schoolbooks "
             "became part of everyday life.")
PROMPTS = ["The capital of France is", "def add(a, b):\n    return", "Once upon a time, in a small village,",
           "1, 2, 3, 4, 5,"]
CHAT = ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n")


def run(*args):
    out = subprocess.run([SCORE, MODEL, *args], check=True, capture_output=True, text=True).stdout
    return [line.split() for line in out.strip("\n").split("\n")]


def ints(xs): return [int(x) for x in xs]
def floats(xs): return [float(x) for x in xs]


tokens, logprobs = run("logprobs", PARAGRAPH)
_, sequential = run("logprobs1", PARAGRAPH)
out = {"model": "SmolLM2-135M-Instruct.Q4_1.gguf",
       "paragraph": {"text": PARAGRAPH, "tokens": ints(tokens), "logprobs": floats(logprobs),
                     "logprobs_sequential": floats(sequential)},
       "greedy": [], "chat": None}
for prompt in PROMPTS:
    p, g, m = run("greedy", "32", prompt)
    out["greedy"].append({"prompt": prompt, "prompt_tokens": ints(p), "tokens": ints(g), "top2_margins": floats(m)})
p, g, m = run("greedy", "32", CHAT)
out["chat"] = {"rendered": CHAT, "question": "What is the capital of France?", "prompt_tokens": ints(p),
               "tokens": ints(g), "top2_margins": floats(m)}
with open("smollm2-llama.json", "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
