/* The "Fundraiser progress" block in the editor: plain JavaScript on WordPress's own globals (no
 * build step). The page shows what the server renders, the same iframe as the shortcode. */
(function (wp) {
  "use strict";
  var el = wp.element.createElement;
  var __ = wp.i18n.__;
  var blockEditor = wp.blockEditor;
  var components = wp.components;
  var ServerSideRender = wp.serverSideRender;

  wp.blocks.registerBlockType("membership/fundraiser", {
    apiVersion: 2,
    title: __("Fundraiser progress", "membership-access"),
    description: __("The progress bar and the Give now button of a fundraiser on your membership site.", "membership-access"),
    icon: "heart",
    category: "widgets",
    keywords: ["fundraiser", "donate", "membership"],
    attributes: {
      slug: { type: "string", default: "" },
      height: { type: "number", default: 200 },
    },
    edit: function (props) {
      var attributes = props.attributes;
      return el(
        "div",
        blockEditor.useBlockProps(),
        el(
          blockEditor.InspectorControls,
          null,
          el(
            components.PanelBody,
            { title: __("Fundraiser", "membership-access") },
            el(components.TextControl, {
              label: __("Fundraiser slug", "membership-access"),
              help: __("Empty: the default fundraiser of Settings → Membership.", "membership-access"),
              value: attributes.slug,
              onChange: function (value) { props.setAttributes({ slug: value.trim() }); },
            }),
            el(components.RangeControl, {
              label: __("Height (px)", "membership-access"),
              min: 120,
              max: 600,
              value: attributes.height,
              onChange: function (value) { props.setAttributes({ height: value || 200 }); },
            })
          )
        ),
        el(ServerSideRender, { block: "membership/fundraiser", attributes: attributes })
      );
    },
    save: function () {
      return null; // rendered on the server
    },
  });
})(window.wp);
