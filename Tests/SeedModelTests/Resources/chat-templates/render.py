#!/usr/bin/env python3
"""Writes expected.json: each template here rendered by Jinja2 as Hugging Face transformers renders
chat templates (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loop controls,
raise_exception, tojson), add_generation_prompt=True. An offline oracle: run by hand
(`python3 render.py`, jinja2 3.1.x), never by the tests.

`strftime_now` is left undefined, so Llama 3.2's template takes its own fallback date; each case
of a template that prints a date is also rendered with strftime_now at a fixed day
("expected_with_strftime_now") to record what transformers, which defines it, would print.
"""
import json
import os
from datetime import datetime

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))

LLAMA = ("<s>", "</s>")
LLAMA3 = ("<|begin_of_text|>", "<|eot_id|>")
QWEN = (None, "<|im_end|>")
# file stem -> (family our fingerprint must give, bos_token, eos_token)
TEMPLATES = {
    "llama-2-7b-chat": ("Llama 2", *LLAMA),
    "meta-llama-3-8b-instruct": ("Llama 3", *LLAMA3),
    "meta-llama-3-8b-instruct-2024-04": ("Llama 3", *LLAMA3),
    "llama-3.1-8b-instruct": ("Llama 3", *LLAMA3),
    "llama-3.2-3b-instruct": ("Llama 3", *LLAMA3),
    "qwen2.5-7b-instruct": ("ChatML/Qwen", *QWEN),
    "qwen2.5-0.5b-instruct": ("ChatML/Qwen", *QWEN),
    "mistral-7b-instruct-v0.1-2023": ("Mistral", *LLAMA),
    "mistral-7b-instruct-v0.2-2023": ("Mistral", *LLAMA),
    "mistral-7b-instruct-v0.2": ("Mistral", *LLAMA),
    "mistral-7b-instruct-v0.3": ("Mistral", *LLAMA),
    "mistral-nemo-instruct-2407": ("Mistral", *LLAMA),
    "zephyr-7b-beta": ("Zephyr", *LLAMA),
    "tinyllama-1.1b-chat-v1.0": ("Zephyr", *LLAMA),
    "smollm2-135m-instruct": ("ChatML/Qwen", None, "<|im_end|>"),
    "qwen3-0.6b": ("Qwen3", None, "<|im_end|>"),
    "gemma-2-2b-it": ("Gemma", "<bos>", "<eos>"),
    "phi-3.5-mini-instruct": ("Phi-3", "<s>", "<|endoftext|>"),
}

SYSTEM = {"role": "system", "content": "Be brief."}
CONVERSATIONS = {
    "user": [{"role": "user", "content": "Hi there"}],
    "system+user": [SYSTEM, {"role": "user", "content": "What is 2+2?"}],
    # Padded contents show which templates strip them.
    "multi-turn": [{"role": "user", "content": "Hi"},
                   {"role": "assistant", "content": " Hello! How can I help? "},
                   {"role": "user", "content": "  What is 2+2?  "}],
    "system+multi-turn": [SYSTEM,
                          {"role": "user", "content": "Hi"},
                          {"role": "assistant", "content": " Hello! How can I help? "},
                          {"role": "user", "content": "  What is 2+2?  "}],
    # An earlier answer with its reasoning, which Qwen3's template drops.
    "thinking-multi-turn": [{"role": "user", "content": "Hi"},
                            {"role": "assistant", "content": "<think>\nThe user greets me.\n</think>\n\nHello!"},
                            {"role": "user", "content": "What is 2+2?"}],
}
FIXED_DAY = datetime(2025, 3, 14)


def environment(strftime_now):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.globals["raise_exception"] = raise_exception
    env.filters["tojson"] = lambda x, ensure_ascii=False, indent=None, separators=None, sort_keys=False: \
        json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
    if strftime_now:
        env.globals["strftime_now"] = lambda fmt: FIXED_DAY.strftime(fmt)
    return env


def main():
    plain, dated = environment(False), environment(True)
    out = {"templates": {}, "cases": []}
    for stem, (family, bos, eos) in TEMPLATES.items():
        source = open(os.path.join(HERE, stem + ".jinja"), encoding="utf-8").read()
        out["templates"][stem] = {"family": family, "bos_token": bos, "eos_token": eos}
        for name, messages in CONVERSATIONS.items():
            case = {"template": stem, "conversation": name, "messages": messages}
            context = dict(messages=messages, add_generation_prompt=True, bos_token=bos, eos_token=eos)
            try:
                case["expected"] = plain.from_string(source).render(**context)
                with_date = dated.from_string(source).render(**context)
                if with_date != case["expected"]:
                    case["expected_with_strftime_now"] = with_date
            except jinja2.exceptions.TemplateError as error:
                case["error"] = str(error)
            out["cases"].append(case)
    with open(os.path.join(HERE, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{len(out['cases'])} cases, jinja2 {jinja2.__version__}")


if __name__ == "__main__":
    main()
