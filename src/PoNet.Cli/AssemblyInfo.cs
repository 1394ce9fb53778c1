// The plots' tick and CSV helpers are tested directly.
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("PoNet.Tests")]
