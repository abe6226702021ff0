namespace Reweighting.Text.Tokenization;

/// <summary>Writes a file through a temporary sibling and a rename, so readers never see half a file.</summary>
internal static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        var temp = path + ".tmp-" + Environment.ProcessId;
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
