"""The Yangtze Delta scenario simulator: institutions and enterprises of five cities."""
