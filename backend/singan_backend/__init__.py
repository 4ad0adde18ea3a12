"""SinGAN for Krita: the engine, the model store, the CLI and the backend server."""
