namespace Reweighting.Contracts;

/// <summary>A GMM's verdict on one point: component responsibilities, the label they favour and its probability.</summary>
public sealed record LabelAssignment(SampleLabel Label, double Confidence, double[] Responsibilities);
