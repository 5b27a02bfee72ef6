"""Explaining the model (HW3 Q3-Q5, HW4 Q1-Q4): functions that return numpy arrays.

=====================================  ======================================================
saliency_maps(model, images, ...)      every registered method (:mod:`.methods`: vanilla
                                       gradient, SmoothGrad, Grad-CAM, Grad-CAM++, LayerCAM,
                                       Score-CAM, Integrated Gradients, occlusion, RISE):
                                       float32 ``(N, 48, 48)`` in [0, 1]
methods.names(), methods.get(name)     the method registry: one module per method
integrated_gradients(model, images)    signed IG attributions and the scores they sum to
                                       (Sundararajan 2017)
filter_ascent(model, layer, ...)       inputs that maximise each filter of a layer (Olah 2017)
feature_maps(model, layer, image)      every filter's output for one image ``(C, h, w)``
lime_explanation(model, image, ...)    LIME on SLIC superpixels (Ribeiro 2016)
tsne_embedding(model, layer, ...)      t-SNE of a layer's outputs with a silhouette score
sanity_check(model, images, ...)       model-randomisation test (Adebayo 2018)
cascading_randomization(model, ...)    the same, top layer down, one layer at a time: a curve
road(model, images, labels, maps)      ROAD: MoRF/LeRF under noisy linear imputation (Rong 2022)
control_maps(images)                   model-free controls: random, smooth random, edge, centre
run_checks(model, images, labels)      every method through every check vs the controls, with
                                       verdicts (method_verdicts) and a table (checks_table)
deletion_insertion(model, ...)         deletion / insertion AUC (Petsiuk 2018)
mask_concentration(maps, masks)        saliency mass inside ground-truth parts / their area
conv_layer_names, first_conv_layer,    layer helpers (any Keras graph: Sequential, functional
first_activation_layer,                with branches and merges, nested models)
last_hidden_layer, gradcam_layer,
score_source                           which pre-softmax class score is differentiated
=====================================  ======================================================

Every function takes any Keras image classifier (or a model path) and the keyword arguments
``contract``, ``input_range`` and ``classes`` (:mod:`fer_keras.models.contract`); maps come back at the
model's input resolution. Every plot of these results is in :mod:`fer_keras.plotting`. Submodules load on first use, so
``import fer_keras.explain`` stays cheap; lime, scikit-learn, scikit-image and tf-keras-vis are
imported only by the functions that need them.
"""
from fer_keras._lazy import lazy_face

_EXPORTS = {
    "saliency_maps": "saliency",
    "integrated_gradients": "methods.integrated_gradients", "rise_masks": "methods.rise",
    "filter_ascent": "ascent", "feature_maps": "ascent", "filter_activations": "ascent",
    "lime_explanation": "lime_maps", "slic_segments": "lime_maps",
    "tsne_embedding": "tsne", "layer_outputs": "tsne",
    "sanity_check": "checks", "deletion_insertion": "checks", "mask_concentration": "checks",
    "randomized_copy": "checks", "spearman_rows": "checks", "random_maps": "checks",
    "model_randomization": "checks", "cascading_randomization": "checks",
    "weight_groups": "checks", "randomization_summary": "checks", "blank_maps": "checks",
    "road": "road", "noisy_linear_impute": "road",
    "control_maps": "controls", "edge_maps": "controls", "centre_prior": "controls",
    "smooth_random_maps": "controls", "CONTROLS": "controls",
    "run_checks": "verdicts", "method_verdicts": "verdicts", "checks_table": "verdicts",
    "checks_rows": "verdicts", "recommended": "verdicts", "CheckRules": "verdicts", "ground_truth_check": "verdicts",
    "conv_layer_names": "_core", "first_conv_layer": "_core", "last_hidden_layer": "_core",
    "gradcam_layer": "_core", "first_activation_layer": "_core", "spatial_layer_names": "_core", "layer_names": "_core",
    "output_shapes": "_core",
    "predict_proba": "_core", "as_batch": "_core", "score_source": "_core",
    "masks_at": "_core",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_face(__name__, _EXPORTS)
