"""A small corpus of three topics, three papers each, for the similarity tests."""

from __future__ import annotations

import datetime as dt

from storage.records import PaperRecord, ParsedDigest

TOPICS = {
    "diffusion": [
        ("Latent Diffusion Models for Image Synthesis",
         "We train denoising diffusion models in the latent space of pretrained autoencoders for "
         "high resolution image synthesis. The denoising score network generates images from noise."),
        ("Faster Sampling for Denoising Diffusion",
         "Denoising diffusion models generate images by reversing a noise process. We propose a sampler "
         "that needs ten steps for image synthesis with the same score network quality."),
        ("Text to Image Diffusion with Guidance",
         "Classifier free guidance steers a denoising diffusion model toward a text prompt. Image "
         "synthesis quality improves while the latent diffusion sampler stays unchanged."),
    ],
    "protein": [
        ("Predicting Protein Structure from Sequence",
         "Protein folding determines structure. An attention network predicts residue contacts and the "
         "protein structure from the amino acid sequence and multiple sequence alignments."),
        ("Protein Language Models Learn Folding",
         "Language models trained on amino acid sequence data learn protein folding. Residue contacts "
         "emerge in attention maps and predict protein structure."),
        ("Designing Protein Binders",
         "We design protein binders with structure prediction. Amino acid sequence design is guided "
         "by predicted residue contacts and protein folding confidence."),
    ],
    "robots": [
        ("Reinforcement Learning for Legged Robots",
         "A reinforcement learning policy trained in simulation controls legged robots. Reward shaping "
         "and domain randomization transfer the locomotion policy to real robots."),
        ("Sim to Real Transfer of Robot Manipulation",
         "Robot manipulation policies learned by reinforcement learning in simulation transfer to real "
         "robots with domain randomization of the reward and dynamics."),
        ("Offline Reinforcement Learning for Robot Locomotion",
         "Offline reinforcement learning trains a locomotion policy from logged robot data without "
         "simulation. The reward model and policy transfer to legged robots."),
    ],
}

LATE = ("Consistency Distillation of Diffusion Models",
        "We distill a denoising diffusion model into a one step image synthesis sampler. The score "
        "network of the latent diffusion teacher guides the student.")


def record(title: str, abstract: str, arxiv_id: str) -> PaperRecord:
    return PaperRecord(title=title, abstract=abstract, arxiv_id=arxiv_id)


def first_digest(day: dt.date = dt.date(2025, 9, 8)) -> ParsedDigest:
    papers, n = [], 0
    for items in TOPICS.values():
        for title, abstract in items:
            n += 1
            papers.append(record(title, abstract, f"2509.{n:05d}"))
    return ParsedDigest(source="hf-daily", date=day, format="hf-api", papers=papers)


def second_digest(day: dt.date = dt.date(2025, 9, 9)) -> ParsedDigest:
    return ParsedDigest(source="hf-daily", date=day, format="hf-api", papers=[record(*LATE, "2509.00100")])
