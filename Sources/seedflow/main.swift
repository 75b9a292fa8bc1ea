import SeedEngine
print("seedflow: command line under construction")
