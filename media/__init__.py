"""Media for calls: aiortc and av behind one bridge, driven from Trio."""
