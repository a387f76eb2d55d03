from tests.audio import audio_dir, dictation_mp3, dictation_wav, dictation_webm  # noqa: F401
