"""First start of a new profile: Krita builds its resource database; nothing else."""


def run(t):
    t.check("the SinGAN docker is registered", t.docker() is not None)
    yield 0.5
